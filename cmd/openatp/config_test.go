package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A config file sets flags that neither the command line nor the
// environment sets; repeatable flags take arrays; unknown keys are ignored.
func TestConfigFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "openatp.json")
	err := os.WriteFile(path, []byte(`{
		"addr": "0.0.0.0:9000", "tls-addr": "", "rate-limit": "20/min", "access-log": false,
		"hostname": ["a.example", "b.example"], "unknown-key": 1, "db": "from-file.db", "redis": null
	}`), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	parse := func(args []string, env map[string]string) (map[string]string, multiFlag, error) {
		var out, errb syncBuffer
		e := &cliEnv{getenv: func(k string) string { return env[k] }, stdout: &out, stderr: &errb}
		var sf storeFlags
		fs := newFlagSet(e, "serve")
		sf.register(fs)
		vals := map[string]*string{}
		for _, name := range []string{"addr", "tls-addr", "rate-limit", "redis"} {
			vals[name] = fs.String(name, "default-"+name, "")
		}
		accessLog := fs.Bool("access-log", true, "")
		var hostnames multiFlag
		fs.Var(&hostnames, "hostname", "")
		err := parseFlags(e, fs, args)
		got := map[string]string{"db": sf.db, "access-log": "false"}
		if *accessLog {
			got["access-log"] = "true"
		}
		for k, v := range vals {
			got[k] = *v
		}
		return got, hostnames, err
	}

	got, hosts, err := parse([]string{"--config", path, "--addr", "127.0.0.1:1"}, map[string]string{"OPENATP_RATE_LIMIT": "off"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"addr":       "127.0.0.1:1", // the flag wins
		"rate-limit": "off",         // then the environment
		"tls-addr":   "",            // then the file
		"db":         "from-file.db",
		"access-log": "false",
		"redis":      "default-redis", // null: unset
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	if strings.Join(hosts, ",") != "a.example,b.example" {
		t.Errorf("hostname = %v", hosts)
	}

	// The file named by the environment.
	got, _, err = parse(nil, map[string]string{"OPENATP_CONFIG": path})
	if err != nil || got["addr"] != "0.0.0.0:9000" {
		t.Errorf("OPENATP_CONFIG: addr %q, %v", got["addr"], err)
	}

	for name, content := range map[string]string{
		"not an object": `["addr"]`,
		"a bad value":   `{"access-log": "maybe"}`,
		"a nested list": `{"hostname": [["a"]]}`,
		"an object":     `{"addr": {"host": "x"}}`,
	} {
		bad := filepath.Join(t.TempDir(), "bad.json")
		if err := os.WriteFile(bad, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, _, err := parse([]string{"--config", bad}, nil); err == nil || !strings.Contains(err.Error(), "--config") {
			t.Errorf("%s: error %v, want one naming --config", name, err)
		}
	}
	if _, _, err := parse([]string{"--config", filepath.Join(t.TempDir(), "missing.json")}, nil); err == nil {
		t.Error("a missing config file: no error")
	}
}
