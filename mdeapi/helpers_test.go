package mdeapi_test

import (
	"bufio"
	"encoding/base64"
	"io"
)

func bufioReader(r io.Reader) *bufio.Reader { return bufio.NewReader(r) }

func b64url(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
