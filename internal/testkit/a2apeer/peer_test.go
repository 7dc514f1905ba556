package a2apeer

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func post(t *testing.T, url, body string) string {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatalf("post: %v", err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return string(out)
}

func TestPeerServesBothDialectsAndCard(t *testing.T) {
	p := Start(t, Options{})

	resp, err := http.Get(p.URL() + ".well-known/agent-card.json")
	if err != nil {
		t.Fatal(err)
	}
	var card map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&card); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if card["protocolVersion"] != "0.3" || card["url"] != p.URL() {
		t.Errorf("card lacks the v0.3 fields: %v", card)
	}
	if ifs, _ := card["supportedInterfaces"].([]any); len(ifs) != 2 {
		t.Errorf("card supportedInterfaces = %v, want 2 entries", card["supportedInterfaces"])
	}

	v10 := post(t, p.URL(), `{"jsonrpc":"2.0","id":1,"method":"SendMessage","params":{"message":{"messageId":"m1","role":"ROLE_USER","parts":[{"text":"echo hi there"}]}}}`)
	if !strings.Contains(v10, `"TASK_STATE_COMPLETED"`) || !strings.Contains(v10, `"hi there"`) {
		t.Errorf("v1.0 echo: %s", v10)
	}
	v03 := post(t, p.URL(), `{"jsonrpc":"2.0","id":1,"method":"message/send","params":{"message":{"kind":"message","messageId":"m2","role":"user","parts":[{"kind":"text","text":"echo hi again"}]}}}`)
	if !strings.Contains(v03, `"completed"`) || !strings.Contains(v03, `"hi again"`) {
		t.Errorf("v0.3 echo: %s", v03)
	}
	list := post(t, p.URL(), `{"jsonrpc":"2.0","id":1,"method":"ListTasks","params":{}}`)
	if !strings.Contains(list, `"totalSize":2`) {
		t.Errorf("ListTasks: %s", list)
	}
}

func TestPeerRestartKeepsTasks(t *testing.T) {
	p := Start(t, Options{})
	if err := p.Seed(context.Background(), 3); err != nil {
		t.Fatal(err)
	}
	addr := p.Addr()
	p.Restart()
	if p.Addr() != addr {
		t.Fatalf("restart moved the peer from %s to %s", addr, p.Addr())
	}
	list := post(t, p.URL(), `{"jsonrpc":"2.0","id":1,"method":"ListTasks","params":{}}`)
	if !strings.Contains(list, `"totalSize":3`) {
		t.Errorf("ListTasks after restart: %s", list)
	}
}

func TestPeerAnonymousListIsUnauthenticated(t *testing.T) {
	p := Start(t, Options{Anonymous: true})
	list := post(t, p.URL(), `{"jsonrpc":"2.0","id":1,"method":"ListTasks","params":{}}`)
	if !strings.Contains(list, `-31401`) {
		t.Errorf("anonymous ListTasks: %s", list)
	}
}

func TestPeerDemoModePlaysTheDemoAgent(t *testing.T) {
	p := Start(t, Options{Demo: true, Step: time.Millisecond})
	echo := post(t, p.URL(), `{"jsonrpc":"2.0","id":1,"method":"SendMessage","params":{"message":{"messageId":"d1","role":"ROLE_USER","parts":[{"text":"echo hi"}]}}}`)
	if !strings.Contains(echo, `"TASK_STATE_COMPLETED"`) || !strings.Contains(echo, `"`+DemoEchoed+`"`) || !strings.Contains(echo, `"name":"echo"`) {
		t.Errorf("demo echo: %s", echo)
	}
	slow := post(t, p.URL(), `{"jsonrpc":"2.0","id":2,"method":"SendMessage","params":{"message":{"messageId":"d2","role":"ROLE_USER","parts":[{"text":"slow 2"}]}}}`)
	for _, want := range []string{`"artifactId":"slow-result"`, "slow finished 2 steps.", "this is the last one.", "done after 2 steps"} {
		if !strings.Contains(slow, want) {
			t.Errorf("demo slow: no %q in %s", want, slow)
		}
	}
	help := post(t, p.URL(), `{"jsonrpc":"2.0","id":3,"method":"SendMessage","params":{"message":{"messageId":"d3","role":"ROLE_USER","parts":[{"text":"hello"}]}}}`)
	if !strings.Contains(help, `"message"`) || !strings.Contains(help, "a2atop demo agent") {
		t.Errorf("demo reply: %s", help)
	}
}
