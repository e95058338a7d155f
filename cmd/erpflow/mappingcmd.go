package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/erpflow/erpflow/pipeline/record"
	"github.com/erpflow/erpflow/transforms/mapping"
)

func newMapping() *cobra.Command {
	c := group(&cobra.Command{Use: "mapping", Short: "Check and try source mapping files (docs/mapping.md)"})
	c.AddCommand(&cobra.Command{
		Use:   "check FILE",
		Short: "Check a mapping file; exit 0 only when it is valid",
		Long: `Loads FILE as the pipeline would and reports every problem with file:line:column
and the key: unknown canonical fields, required fields left unmapped, value
maps to values a field does not allow, bad lookup tables and options.`,
		Args: args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			if err := openable(a[0]); err != nil {
				return err
			}
			m, err := mapping.Load(a[0])
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: ok (mapping %s version %d, source %s)\n", a[0], m.Name, m.Version, m.Source)
			return nil
		},
	})
	var key string
	try := &cobra.Command{
		Use:   "try FILE RECORD.json",
		Short: "Map one source record and print the canonical result or why it would be dead-lettered",
		Long: `Applies mapping FILE to the JSON object in RECORD.json ("-" reads standard input)
and prints the canonical record as JSON. When the record would be dead-lettered
it prints the reason code and message instead and exits 1.`,
		Args: args(cobra.ExactArgs(2)),
		RunE: func(cmd *cobra.Command, a []string) error {
			if err := openable(a[0]); err != nil {
				return err
			}
			m, err := mapping.Load(a[0])
			if err != nil {
				return err
			}
			var data []byte
			if a[1] == "-" {
				data, err = io.ReadAll(cmd.InOrStdin())
			} else {
				data, err = os.ReadFile(a[1])
			}
			if err != nil {
				return usagef("%v", err)
			}
			data = trimNewline(data)
			if first, rest, ok := bytes.Cut(data, []byte("\n")); ok && json.Valid(first) && len(bytes.TrimSpace(rest)) > 0 {
				return usagef("%s holds %d lines, one record each: mapping try takes one (sed -n 5p %s picks the fifth)",
					a[1], bytes.Count(data, []byte("\n"))+1, a[1])
			}
			var r record.Record
			if err := m.NewMapper().Map([]byte(key), data, &r); err != nil {
				var me *mapping.Error
				var de *record.DecodeError
				code := "error"
				switch {
				case errors.As(err, &me):
					code = me.Code()
				case errors.As(err, &de):
					code = de.Code()
				}
				fmt.Fprintf(cmd.OutOrStdout(), "dead letter: %s\n%v\n", code, err)
				return fmt.Errorf("the record would be dead-lettered (%s)", code)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s\n", record.Marshal(&r))
			return nil
		},
	}
	try.Flags().StringVar(&key, "key", "", "the Kafka key (company code), for mappings that take the company from it")
	c.AddCommand(try)
	return c
}

func trimNewline(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}
