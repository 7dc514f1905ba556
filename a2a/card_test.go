package a2a

import (
	"reflect"
	"testing"
)

func TestAllInterfacesListsEachOnce(t *testing.T) {
	dual := &AgentCard{
		Interfaces: []AgentInterface{
			{URL: "http://a/", ProtocolBinding: BindingJSONRPC, ProtocolVersion: Version10},
			{URL: "http://a/", ProtocolBinding: BindingJSONRPC, ProtocolVersion: Version03},
		},
		URL:                  "http://a/",
		ProtocolVersion:      Version03,
		PreferredTransport:   BindingJSONRPC,
		AdditionalInterfaces: []AgentInterface{{URL: "http://a/grpc", ProtocolBinding: BindingGRPC}},
	}
	want := []AgentInterface{
		{URL: "http://a/", ProtocolBinding: BindingJSONRPC, ProtocolVersion: Version10},
		{URL: "http://a/", ProtocolBinding: BindingJSONRPC, ProtocolVersion: Version03},
		{URL: "http://a/grpc", ProtocolBinding: BindingGRPC, ProtocolVersion: Version03},
	}
	if got := dual.AllInterfaces(); !reflect.DeepEqual(got, want) {
		t.Errorf("AllInterfaces() = %+v\nwant %+v", got, want)
	}
	v03only := &AgentCard{URL: "http://b/"}
	if got := v03only.AllInterfaces(); len(got) != 1 || got[0].ProtocolVersion != Version03 || got[0].ProtocolBinding != BindingJSONRPC {
		t.Errorf("v0.3-only card: %+v", got)
	}
}
