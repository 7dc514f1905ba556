package taskzip

import (
	"bytes"
	"compress/flate"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// echoBody is the v1.0 JSON of an echo task and its four events, as the
// stores compress it (ids as the engine makes them).
var echoBody = []byte(strings.NewReplacer("TID", "019ae0b1-7f3c-7c1e-9d7b-3f0a6d2b9c41", "CID", "019ae0b1-7f3c-7c1e-9d7b-4a11c5e0f2d7", "MID", "5b8f0a4e-2c8d-4e61-a3f0-1d2e3c4b5a69", "RID", "019ae0b1-7f3c-7c1e-9d7b-52b7a1c0de33", "AID", "019ae0b1-7f3c-7c1e-9d7b-6c3e9f1a2b44").Replace(
	`{"id":"TID","contextId":"CID","status":{"state":"TASK_STATE_COMPLETED","message":{"messageId":"RID","contextId":"CID","taskId":"TID","role":"ROLE_AGENT","parts":[{"text":"echoed"}]},"timestamp":"2026-12-02T17:06:29.953123456Z"},"artifacts":[{"artifactId":"AID","name":"echo","parts":[{"text":"hi"}]}],"history":[{"messageId":"MID","contextId":"CID","taskId":"TID","role":"ROLE_USER","parts":[{"text":"echo hi"}]}]}` +
		`{"task":{"id":"TID","contextId":"CID","status":{"state":"TASK_STATE_SUBMITTED","timestamp":"2026-12-02T17:06:29.952123456Z"},"history":[{"messageId":"MID","contextId":"CID","taskId":"TID","role":"ROLE_USER","parts":[{"text":"echo hi"}]}]}}` +
		`{"statusUpdate":{"taskId":"TID","contextId":"CID","status":{"state":"TASK_STATE_WORKING","timestamp":"2026-12-02T17:06:29.952523456Z"}}}` +
		`{"artifactUpdate":{"taskId":"TID","contextId":"CID","artifact":{"artifactId":"AID","name":"echo","parts":[{"text":"hi"}]},"lastChunk":true}}` +
		`{"statusUpdate":{"taskId":"TID","contextId":"CID","status":{"state":"TASK_STATE_COMPLETED","message":{"messageId":"RID","contextId":"CID","taskId":"TID","role":"ROLE_AGENT","parts":[{"text":"echoed"}]},"timestamp":"2026-12-02T17:06:29.953123456Z"}}}`))

func TestRoundTrip(t *testing.T) {
	for _, raw := range [][]byte{nil, []byte("x"), echoBody, bytes.Repeat(echoBody, 40)} {
		got, err := Inflate(Append([]byte("prefix"), raw)[6:], len(raw))
		if err != nil || !bytes.Equal(got, raw) {
			t.Fatalf("round trip of %d bytes: %d bytes, %v", len(raw), len(got), err)
		}
	}
	if _, err := Inflate(Append(nil, echoBody), len(echoBody)-1); err == nil {
		t.Fatal("Inflate past its limit did not fail")
	}
	if _, err := Inflate([]byte{0xff, 0x00, 0x13}, 100); err == nil {
		t.Fatal("Inflate of garbage did not fail")
	}
}

func TestStoredRoundTrip(t *testing.T) {
	big := bytes.Repeat(echoBody, 80) // past one stored block's 65,535 bytes
	for _, raw := range [][]byte{nil, []byte("x"), echoBody, big[:1<<16-1], big[:1<<16], big} {
		stored := AppendStored([]byte("prefix"), raw)
		blocks := max(1, (len(raw)+1<<16-2)/(1<<16-1))
		if want := 6 + len(raw) + 5*blocks; len(stored) != want {
			t.Errorf("%d bytes stored in %d, want %d", len(raw), len(stored), want)
		}
		got, err := Inflate(stored[6:], len(raw))
		if err != nil || !bytes.Equal(got, raw) {
			t.Fatalf("round trip of %d stored bytes: %d bytes, %v", len(raw), len(got), err)
		}
	}
}

// BenchmarkLevels compresses an echo task's body at each level with the
// dictionary: the size and time of each (any level inflates alike).
func BenchmarkLevels(b *testing.B) {
	for _, level := range []int{1, 2, 3, 4, 5, 6} {
		b.Run(fmt.Sprintf("level=%d", level), func(b *testing.B) {
			w, err := flate.NewWriterDict(nil, level, dict1)
			if err != nil {
				b.Fatal(err)
			}
			var buf bytes.Buffer
			for b.Loop() {
				buf.Reset()
				w.Reset(&buf)
				_, _ = w.Write(echoBody)
				_ = w.Close()
			}
			b.ReportMetric(float64(buf.Len()), "bytes")
			b.ReportMetric(float64(len(echoBody)), "raw-bytes")
		})
	}
}

// flateAppend is Append by compress/flate, as every input went before the
// small compressor.
func flateAppend(dst, raw []byte) []byte {
	buf := bytes.NewBuffer(dst)
	w, err := flate.NewWriterDict(buf, flate.DefaultCompression, dict1)
	if err != nil {
		panic(err)
	}
	_, _ = w.Write(raw)
	_ = w.Close()
	return buf.Bytes()
}

// smallInputs covers what the small compressor must code: nothing, one
// byte, tasks, text that matches the dictionary, long runs (matches of
// 258), incompressible bytes (stored), and both sides of smallMax.
func smallInputs() [][]byte {
	rng := rand.New(rand.NewPCG(5, 6))
	noise := make([]byte, smallMax()+10)
	for i := range noise {
		noise[i] = byte(rng.Uint32())
	}
	var mixed []byte
	for len(mixed) < smallMax()+100 {
		switch rng.IntN(3) {
		case 0:
			i := rng.IntN(len(dict1))
			mixed = append(mixed, dict1[i:min(len(dict1), i+rng.IntN(300))]...)
		case 1:
			mixed = append(mixed, noise[:rng.IntN(20)]...)
		default:
			mixed = append(mixed, bytes.Repeat([]byte{byte(rng.IntN(4))}, rng.IntN(600))...)
		}
	}
	out := [][]byte{nil, {}, []byte("x"), []byte("xyzw"), echoBody, bytes.Repeat(echoBody, 3),
		bytes.Repeat([]byte{'a'}, 1000), bytes.Repeat([]byte{0}, smallMax()), noise[:100], noise[:smallMax()],
		noise[:smallMax()+1], mixed[:smallMax()], mixed[:smallMax()+1], dict1, dict1[len(dict1)-5:]}
	for n := 1; n < smallMax(); n = n*3 + 1 {
		out = append(out, mixed[:n], noise[:n])
	}
	return out
}

func TestSmallRoundTrip(t *testing.T) {
	for i, raw := range smallInputs() {
		packed := Append([]byte("prefix"), raw)
		got, err := Inflate(packed[6:], len(raw))
		if err != nil || !bytes.Equal(got, raw) {
			t.Fatalf("input %d: round trip of %d bytes: %d bytes, %v", i, len(raw), len(got), err)
		}
		// The small compressor should cost next to nothing in size.
		if n, m := len(packed)-6, len(flateAppend(nil, raw)); n > m+m/20+8 {
			t.Errorf("input %d (%d bytes): %d compressed, compress/flate %d", i, len(raw), n, m)
		}
	}
}

// TestEchoSize pins the size an echo task compresses to (264 bytes with
// compress/flate, the figure the memory store's RSS was measured with).
func TestEchoSize(t *testing.T) {
	n, m := len(Append(nil, echoBody)), len(flateAppend(nil, echoBody))
	t.Logf("echo task: %d bytes of JSON, %d compressed (compress/flate: %d)", len(echoBody), n, m)
	if n > m+8 {
		t.Fatalf("echo task compresses to %d bytes, compress/flate to %d", n, m)
	}
}

func FuzzSmallRoundTrip(f *testing.F) {
	f.Add([]byte(nil))
	f.Add(echoBody)
	f.Add(dict1[100:400])
	f.Add(bytes.Repeat([]byte("ab"), 300))
	f.Fuzz(func(t *testing.T, raw []byte) {
		got, err := Inflate(Append(nil, raw), len(raw))
		if err != nil || !bytes.Equal(got, raw) {
			t.Fatalf("round trip of %d bytes: %d bytes, %v", len(raw), len(got), err)
		}
	})
}

// BenchmarkAppendEcho compresses an echo task's body, by Append and by
// compress/flate as Append did before the small compressor.
func BenchmarkAppendEcho(b *testing.B) {
	for _, tc := range []struct {
		name string
		fn   func(dst, raw []byte) []byte
	}{{"small", Append}, {"flate", func(dst, raw []byte) []byte {
		w := deflaters.Get().(*flate.Writer)
		defer deflaters.Put(w)
		buf := bytes.NewBuffer(dst)
		w.Reset(buf)
		_, _ = w.Write(raw)
		_ = w.Close()
		return buf.Bytes()
	}}} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			var out []byte
			for b.Loop() {
				out = tc.fn(out[:0], echoBody)
			}
			b.ReportMetric(float64(len(out)), "bytes")
		})
	}
}
