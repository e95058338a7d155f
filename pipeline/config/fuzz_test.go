package config

import (
	"strings"
	"testing"
)

// FuzzDecodeAll: whatever a configuration file holds, decoding it reports
// problems (never panics or loops) and each problem names the file.
func FuzzDecodeAll(f *testing.F) {
	for _, seed := range []string{
		"", "kafka:\n  partitions: many\n", "pipeline:\n  batch_wait: fast\n  bogus: 1\n",
		"kafka: {partitions: many, bogus: 1}\n", "a: b: c\n", "kafka:\n\tpartitions: 2\n",
		"kafka:\n  topics:\n    bogus:\n      a: 1\n  max_wait: 5s\n", "- a\n- b\n", "kafka:\n  brokers: [a:1, b]\n  partitions: [1]\n",
		"lookups:\n 0:\nrules:\n  !!000000000\n      1: 000\n      0: 00\n", "kafka:\n  brokers:\n  !!000000000\n      1: 000\n",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, body string) {
		_, problems := decodeAll("f.yaml", []byte(body))
		if len(problems) > maxDecodeProblems {
			t.Fatalf("%d problems", len(problems))
		}
		for _, p := range problems {
			if !strings.HasPrefix(p.Error(), "config f.yaml:") {
				t.Fatalf("problem %q does not name the file", p)
			}
		}
	})
}
