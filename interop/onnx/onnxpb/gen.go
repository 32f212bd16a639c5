// Package onnxpb is the ONNX schema (onnx.proto of ONNX 1.12, IR version 8,
// Apache-2.0, as Debian's libonnx-dev ships it) compiled to Go with
// protoc-gen-go. The generated file is committed, so building forger needs
// no protoc; to regenerate (apt-get install protobuf-compiler;
// go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12):
//
//	go generate ./interop/onnx/onnxpb
package onnxpb

//go:generate protoc --go_out=. --go_opt=paths=source_relative --go_opt=Monnx.proto=forger/interop/onnx/onnxpb onnx.proto
