package demo

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/openatp/openatp"
)

// streamIndicator is the random stream of generated indicators.
const streamIndicator = streamEvent + 1

// demoThumbprint is the certificate thumbprint of the demo's allowed
// code-signing certificate (a made-up one: no certificate event holds it).
const demoThumbprint = "8a334aa48a8b1d5e2f7c0b5cde9f0e6c7b1a2d3e"

// Indicators returns the demo tenant's custom indicators, created by the
// application (clientID, name) at start: one of each type over values the
// demo's generated events hold (the SHA-256 of mimikatz.exe, the SHA-1 of
// invoice_8812.pdf.exe, the miner pool's IP, paste.ee, the lookalike
// update CDN's URL) and a certificate thumbprint, with the actions Alert,
// AlertAndBlock, Block, Allowed and Audit; those with generateAlert raise
// CustomerTI alerts on the machines that saw them; one (svchost32.exe)
// has expired and raises none.
func Indicators(start time.Time, clientID, name string) []openatp.Indicator {
	_, mimikatz, _ := fileHashes("mimikatz.exe")
	invoice, _, _ := fileHashes("invoice_8812.pdf.exe")
	_, svchost32, _ := fileHashes("svchost32.exe")
	expired := start.Add(-24 * time.Hour)
	ins := []openatp.Indicator{
		{IndicatorType: openatp.IndicatorFileSha256, IndicatorValue: mimikatz, Action: "AlertAndBlock", Severity: "High", GenerateAlert: true,
			Title: "Mimikatz credential dumper", Description: "Known credential theft tool: block and alert on every device."},
		{IndicatorType: openatp.IndicatorFileSha1, IndicatorValue: invoice, Action: "Alert", Severity: "Medium", GenerateAlert: true,
			Title: "Invoice-themed dropper", Description: "Executable disguised as a PDF invoice, delivered by phishing."},
		{IndicatorType: openatp.IndicatorIPAddress, IndicatorValue: "45.9.148.117", Action: "Block", Severity: "High", GenerateAlert: true,
			Title: "Cryptomining pool", Description: "Stratum endpoint of a Monero mining pool."},
		{IndicatorType: openatp.IndicatorDomainName, IndicatorValue: "paste.ee", Action: "Audit", Severity: "Low", GenerateAlert: true,
			Title: "Paste site used for staging", Description: "Paste site seen hosting second-stage scripts: audit connections."},
		{IndicatorType: openatp.IndicatorURL, IndicatorValue: "https://cdn-updates.azureedge-dl.com/", Action: "Block", Severity: "Medium",
			Title: "Lookalike update CDN", Description: "Typosquatted Azure CDN serving fake updates."},
		{IndicatorType: openatp.IndicatorCertificateThumbprint, IndicatorValue: demoThumbprint, Action: "Allowed", Severity: "Informational",
			Title: "Contoso code-signing certificate", Description: "Internal line-of-business applications signed by Contoso IT."},
		{IndicatorType: openatp.IndicatorFileSha256, IndicatorValue: svchost32, Action: "Alert", Severity: "Medium", GenerateAlert: true,
			ExpirationTime: &expired, Title: "svchost32 loader (expired)", Description: "A loader of last quarter's campaign; the indicator has expired."},
	}
	for i := range ins {
		stamp(&ins[i], clientID, name)
	}
	return ins
}

func stamp(in *openatp.Indicator, clientID, name string) {
	in.CreatedBy, in.CreatedBySource, in.CreatedByDisplayName, in.Source = clientID, name, name, name
	in.SourceType, in.LastUpdatedBy = openatp.IndicatorSourceApp, clientID
	in.Application = openatp.Ptr("openatp demo")
}

// GenerateIndicators emits n indicators created by the application
// (clientID, name) over the values of the events GenerateEvents emits for
// o: about one in five is a file hash, IP, domain or URL of the events
// catalogue (some with generateAlert), the others random values no event
// holds. The same o and n give the same indicators; no two have the same
// type and value.
func GenerateIndicators(o Options, n int, clientID, name string, emit func(openatp.Indicator) error) error {
	if n < 0 {
		return fmt.Errorf("demo: negative count of indicators")
	}
	g, err := newGen(o)
	if err != nil {
		return err
	}
	src := rand.NewPCG(0, 0)
	g.reseed(src, streamIndicator, 0)
	r := rand.New(src)
	seen := map[string]bool{}
	actions := []string{"Alert", "AlertAndBlock", "Block", "Allowed", "Audit", "Warn"}
	for i := 0; i < n; {
		var typ, value string
		if r.IntN(5) == 0 {
			switch r.IntN(4) {
			case 0:
				f := knownFiles[r.IntN(len(knownFiles))]
				s1, s256, m5 := fileHashes(f.name)
				typ, value = []string{openatp.IndicatorFileSha1, openatp.IndicatorFileSha256, openatp.IndicatorFileMd5}[r.IntN(3)], ""
				value = map[string]string{openatp.IndicatorFileSha1: s1, openatp.IndicatorFileSha256: s256, openatp.IndicatorFileMd5: m5}[typ]
			case 1:
				h := knownHosts[r.IntN(len(knownHosts))]
				typ, value = openatp.IndicatorIPAddress, h.ips[r.IntN(len(h.ips))]
			case 2:
				typ, value = openatp.IndicatorDomainName, knownHosts[r.IntN(len(knownHosts))].domain
			default:
				typ, value = openatp.IndicatorURL, "https://"+knownHosts[r.IntN(len(knownHosts))].domain+"/"
			}
		} else {
			typ = openatp.IndicatorTypes[r.IntN(len(openatp.IndicatorTypes))]
			value = randomValue(r, typ, i)
		}
		k := openatp.IndicatorValueKey(typ, value)
		if seen[k] {
			if len(seen) >= n || r.IntN(2) == 0 {
				typ, value = openatp.IndicatorDomainName, fmt.Sprintf("ioc-%d.example-threat.net", i)
				k = openatp.IndicatorValueKey(typ, value)
			} else {
				continue
			}
		}
		seen[k] = true
		in := openatp.Indicator{IndicatorType: typ, IndicatorValue: value, Action: actions[r.IntN(len(actions))],
			Severity: openatp.IndicatorSeverities[r.IntN(len(openatp.IndicatorSeverities))], GenerateAlert: r.IntN(2) == 0,
			Title: fmt.Sprintf("Generated indicator %d", i+1), Description: "A generated " + typ + " indicator."}
		if in.Action == "Audit" || in.Action == "Alert" || in.Action == "AlertAndBlock" {
			in.GenerateAlert = true
		}
		stamp(&in, clientID, name)
		if err := emit(in); err != nil {
			return err
		}
		i++
	}
	return nil
}

// randomValue returns a value of type typ no generated event holds.
func randomValue(r *rand.Rand, typ string, i int) string {
	hex := func(n int) string {
		const digits = "0123456789abcdef"
		b := make([]byte, n)
		for j := range b {
			b[j] = digits[r.IntN(16)]
		}
		return string(b)
	}
	switch typ {
	case openatp.IndicatorFileSha1, openatp.IndicatorCertificateThumbprint:
		return hex(40)
	case openatp.IndicatorFileSha256:
		return hex(64)
	case openatp.IndicatorFileMd5:
		return hex(32)
	case openatp.IndicatorIPAddress:
		return fmt.Sprintf("203.0.%d.%d", r.IntN(256), 1+r.IntN(254))
	case openatp.IndicatorDomainName:
		return fmt.Sprintf("c2-%d-%s.example-threat.net", i, hex(6))
	default:
		return fmt.Sprintf("https://dl-%d.example-threat.net/%s", i, hex(8))
	}
}
