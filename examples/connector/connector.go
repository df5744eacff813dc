// Package connector is the kind of MDE client a team writes to feed its own
// tool: it gets a token with the client-credentials grant and reads a
// user's machines, retrying throttled (429) and unavailable (503) answers
// after the Retry-After the service gives; a playbook's steps isolate a
// machine and wait for the isolation to finish; a threat-intelligence
// pipeline pushes indicators, polls the alerts and deletes indicators. It stands for "your code" in
// docs/testing.md, whose worked example (connector_test.go) tests it
// against openatp as its test double. It uses the standard library only
// and nothing of openatp.
package connector

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Client reads the MDE API of one tenant as one application.
type Client struct {
	APIBase      string // https://api.security.microsoft.com, or openatp's address
	Authority    string // https://login.microsoftonline.com/<tenant>, or <openatp>/<tenant>
	ClientID     string
	ClientSecret string
	HTTP         *http.Client
	MaxAttempts  int // per call, counting the first (default 5)

	mu      sync.Mutex
	token   string
	expires time.Time
}

// Machine is what the connector keeps of a machine.
type Machine struct {
	ID              string `json:"id"`
	ComputerDNSName string `json:"computerDnsName"`
	HealthStatus    string `json:"healthStatus"`
}

// UserMachines returns the machines the user has logged on to.
func (c *Client) UserMachines(ctx context.Context, user string) ([]Machine, error) {
	var page struct {
		Value []Machine `json:"value"`
	}
	err := c.get(ctx, "/api/users/"+url.PathEscape(user)+"/machines", &page)
	return page.Value, err
}

// MachineAction is what the connector keeps of a machine action.
type MachineAction struct {
	ID        string `json:"id"`
	Type      string `json:"type"`
	Status    string `json:"status"`
	MachineID string `json:"machineId"`
}

// Isolate starts a full isolation of the machine and returns the new
// action (Pending).
func (c *Client) Isolate(ctx context.Context, machineID, comment string) (MachineAction, error) {
	var a MachineAction
	body, err := json.Marshal(map[string]string{"Comment": comment, "IsolationType": "Full"})
	if err != nil {
		return a, err
	}
	tok, err := c.accessToken(ctx)
	if err != nil {
		return a, err
	}
	path := "/api/machines/" + url.PathEscape(machineID) + "/isolate"
	req, err := http.NewRequestWithContext(ctx, "POST", c.APIBase+path, strings.NewReader(string(body)))
	if err != nil {
		return a, err
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/json")
	res, err := c.HTTP.Do(req)
	if err != nil {
		return a, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusCreated {
		return a, fmt.Errorf("POST %s: %s", path, res.Status)
	}
	return a, json.NewDecoder(res.Body).Decode(&a)
}

// WaitForAction reads the action every interval until it is over
// (Succeeded, Failed, TimeOut or Cancelled) and returns it.
func (c *Client) WaitForAction(ctx context.Context, id string, interval time.Duration) (MachineAction, error) {
	for {
		var a MachineAction
		if err := c.get(ctx, "/api/machineactions/"+url.PathEscape(id), &a); err != nil {
			return a, err
		}
		if a.Status != "Pending" && a.Status != "InProgress" {
			return a, nil
		}
		select {
		case <-ctx.Done():
			return a, ctx.Err()
		case <-time.After(interval):
		}
	}
}

// Indicator is a custom indicator the pipeline pushes.
type Indicator struct {
	ID             string `json:"id,omitempty"`
	IndicatorValue string `json:"indicatorValue"`
	IndicatorType  string `json:"indicatorType"`
	Action         string `json:"action"`
	Title          string `json:"title"`
	Description    string `json:"description"`
	Severity       string `json:"severity,omitempty"`
	GenerateAlert  bool   `json:"generateAlert"`
}

// SubmitIndicator submits (or updates) an indicator and returns it as
// stored.
func (c *Client) SubmitIndicator(ctx context.Context, in Indicator) (Indicator, error) {
	var out Indicator
	return out, c.post(ctx, "/api/indicators", in, http.StatusOK, &out)
}

// DeleteIndicators deletes indicators by id, all or none (BatchDelete).
func (c *Client) DeleteIndicators(ctx context.Context, ids []string) error {
	return c.post(ctx, "/api/indicators/BatchDelete", map[string][]string{"IndicatorIds": ids}, http.StatusNoContent, nil)
}

// Alert is what the pipeline keeps of an alert.
type Alert struct {
	ID              string    `json:"id"`
	Title           string    `json:"title"`
	Severity        string    `json:"severity"`
	DetectionSource string    `json:"detectionSource"`
	MachineID       string    `json:"machineId"`
	LastUpdateTime  time.Time `json:"lastUpdateTime"`
}

// AlertsSince returns the alerts changed at or after since: a SIEM's
// poll on lastUpdateTime.
func (c *Client) AlertsSince(ctx context.Context, since time.Time) ([]Alert, error) {
	var page struct {
		Value []Alert `json:"value"`
	}
	filter := "lastUpdateTime ge " + since.UTC().Format("2006-01-02T15:04:05.0000000Z")
	err := c.get(ctx, "/api/alerts?$filter="+url.QueryEscape(filter), &page)
	return page.Value, err
}

// post sends v as JSON and decodes the answer into out (when not nil);
// any status but want is an error.
func (c *Client) post(ctx context.Context, path string, v any, want int, out any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return err
	}
	tok, err := c.accessToken(ctx)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, "POST", c.APIBase+path, strings.NewReader(string(body)))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/json")
	res, err := c.HTTP.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != want {
		return fmt.Errorf("POST %s: %s", path, res.Status)
	}
	if out == nil {
		return nil
	}
	return json.NewDecoder(res.Body).Decode(out)
}

// get reads one API answer into v, retrying 429 and 503 after their
// Retry-After (1 s when absent).
func (c *Client) get(ctx context.Context, path string, v any) error {
	attempts := c.MaxAttempts
	if attempts == 0 {
		attempts = 5
	}
	for attempt := 1; ; attempt++ {
		tok, err := c.accessToken(ctx)
		if err != nil {
			return err
		}
		req, err := http.NewRequestWithContext(ctx, "GET", c.APIBase+path, nil)
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		res, err := c.HTTP.Do(req)
		if err != nil {
			return err
		}
		if res.StatusCode == http.StatusOK {
			defer res.Body.Close()
			return json.NewDecoder(res.Body).Decode(v)
		}
		res.Body.Close()
		retryable := res.StatusCode == http.StatusTooManyRequests || res.StatusCode == http.StatusServiceUnavailable
		if !retryable || attempt == attempts {
			return fmt.Errorf("GET %s: %s", path, res.Status)
		}
		wait := time.Second
		if s, err := strconv.Atoi(res.Header.Get("Retry-After")); err == nil {
			wait = time.Duration(s) * time.Second
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
	}
}

// accessToken returns a cached token, or gets one (v1 endpoint) when none
// is valid for another minute.
func (c *Client) accessToken(ctx context.Context) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.token != "" && time.Until(c.expires) > time.Minute {
		return c.token, nil
	}
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {c.ClientID},
		"client_secret": {c.ClientSecret}, "resource": {"https://api.securitycenter.microsoft.com"}}
	req, err := http.NewRequestWithContext(ctx, "POST", c.Authority+"/oauth2/token", strings.NewReader(form.Encode()))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := c.HTTP.Do(req)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	var t struct {
		AccessToken string `json:"access_token"`
		// A string of digits on the v1 endpoint (a number on v2.0):
		// json.Number takes both.
		ExpiresIn json.Number `json:"expires_in"`
	}
	if res.StatusCode != http.StatusOK {
		return "", fmt.Errorf("token: %s", res.Status)
	}
	if err := json.NewDecoder(res.Body).Decode(&t); err != nil {
		return "", fmt.Errorf("token: %w", err)
	}
	secs, err := t.ExpiresIn.Int64()
	if err != nil {
		return "", fmt.Errorf("token: expires_in %q: %w", t.ExpiresIn, err)
	}
	c.token, c.expires = t.AccessToken, time.Now().Add(time.Duration(secs)*time.Second)
	return c.token, nil
}
