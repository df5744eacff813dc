// Package apitest serves the composed API server (apiserver) for the tests
// of the packages that make it up (httpserve, mdeapi, responseapi,
// adminapi). Fixture runs that server on a real listener over its test data, with
// the helpers the tests send requests and check answers with; Main is
// their TestMain.
package apitest

import "github.com/openatp/openatp/apiserver"

// Config is the configuration of a composed server.
type Config = apiserver.Config

// Server is a composed API server.
type Server = apiserver.Server

// NewServer composes a server on cfg, as the program does.
func NewServer(cfg Config) *Server { return apiserver.New(cfg) }
