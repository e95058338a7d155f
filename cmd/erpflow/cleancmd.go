package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/erpflow/erpflow/transforms/clean"
)

// parseFlags are the options of erpflow clean parse, as a mapping file
// spells them.
type parseFlags struct {
	as, currency, defaultCurrency, decimal, order, tz, excel, field string
}

func newClean() *cobra.Command {
	c := group(&cobra.Command{Use: "clean", Short: "Try the cleaning stage's value parsers"})
	var f parseFlags
	parse := &cobra.Command{
		Use:   "parse --as amount|date|datetime|currency|status [options] VALUE...",
		Short: "Show what source values become: one canonical line per value",
		Long: `Runs the pipeline's own value parsers on each VALUE and prints one line per
value: the canonical value (an amount at its currency's scale, a date as
YYYY-MM-DD, a date-time as UTC YYYY-MM-DDTHH:MM:SSZ, an ISO 4217 currency, a
status's canonical word), MISSING for a blank or placeholder, or
ERROR: reason. Exit 1 when any value was an error. A value that starts with
a minus (-5, -1.234,50) goes after --, or it is read as a flag.

  erpflow clean parse --as amount --default-currency CNY '¥1,234.50' '壹仟贰佰叁拾肆元伍角整'
  erpflow clean parse --as date --date-order DMY 16.04.2025 '2025年4月16日'
  erpflow clean parse --as status --field expense_claim.approval_status 已审批 驳回
  erpflow clean parse --as amount --default-currency CNY -- -5 '(1,234.50)'`,
		Args: args(cobra.MinimumNArgs(1)),
		RunE: func(cmd *cobra.Command, values []string) error {
			p, err := f.parser()
			if err != nil {
				return err
			}
			failed := 0
			for _, v := range values {
				out, err := p(v)
				if err != nil {
					failed++
					out = "ERROR: " + err.Error()
				}
				fmt.Fprintln(cmd.OutOrStdout(), out)
			}
			if failed > 0 {
				return fmt.Errorf("%d of %d values could not be parsed", failed, len(values))
			}
			return nil
		},
	}
	fl := parse.Flags()
	fl.StringVar(&f.as, "as", "", "amount, date, datetime, currency or status")
	fl.StringVar(&f.currency, "currency", "", "force this currency for amounts (a value naming another is an error)")
	fl.StringVar(&f.defaultCurrency, "default-currency", "", "currency of amounts that name none")
	fl.StringVar(&f.decimal, "decimal", "point", "decimal separator: point (1,234.50) or comma (1.234,50)")
	fl.StringVar(&f.order, "date-order", "", "YMD, DMY or MDY for numeric dates (unset: only year-first dates)")
	fl.StringVar(&f.tz, "tz", "", "source time zone for local times, e.g. Asia/Shanghai")
	fl.StringVar(&f.excel, "excel", "", "read numbers as Excel serial dates: 1900 or 1904")
	fl.StringVar(&f.field, "field", "", "with --as status: the field, e.g. invoice.status, expense_claim.paid (default: the first field whose words include the value)")
	c.AddCommand(parse)
	return c
}

// defaultStatusFields are tried in turn when --field is not given: the
// first whose vocabulary knows the word gives its canonical value.
var defaultStatusFields = []clean.StatusField{clean.InvoiceStatus, clean.ExpenseApprovalStatus,
	clean.PaymentStatus, clean.PaymentMethod, clean.SalesOrderStatus, clean.ShipmentStatus,
	clean.PurchaseOrderStatus, clean.GoodsReceiptStatus, clean.ApprovalAction}

// parser checks the flags and returns the parser they describe.
func (f *parseFlags) parser() (func(string) (string, error), error) {
	var ao clean.AmountOptions
	var do clean.DateOptions
	var err error
	if f.currency != "" {
		if ao.Currency, err = clean.ParseCurrency(f.currency); err != nil {
			return nil, usagef("--currency: %v", err)
		}
	}
	if f.defaultCurrency != "" {
		if ao.DefaultCurrency, err = clean.ParseCurrency(f.defaultCurrency); err != nil {
			return nil, usagef("--default-currency: %v", err)
		}
	}
	if ao.Decimal, err = clean.ParseDecimal(f.decimal); err != nil {
		return nil, usagef("--decimal: %v", err)
	}
	if f.order != "" {
		if do.Order, err = clean.ParseDateOrder(f.order); err != nil {
			return nil, usagef("--date-order: %v", err)
		}
	}
	if f.tz != "" {
		if do.TZ, err = time.LoadLocation(f.tz); err != nil {
			return nil, usagef("--tz: %v", err)
		}
	}
	switch f.excel {
	case "":
	case "1900":
		do.Excel = clean.Excel1900
	case "1904":
		do.Excel = clean.Excel1904
	default:
		return nil, usagef("--excel must be 1900 or 1904")
	}
	switch f.as {
	case "amount":
		return func(v string) (string, error) {
			a, err := clean.ParseAmount(v, ao)
			return a.Format(), err
		}, nil
	case "date":
		return func(v string) (string, error) {
			d, err := clean.ParseDate(v, do)
			return d.Format(), err
		}, nil
	case "datetime":
		return func(v string) (string, error) {
			t, err := clean.ParseDateTime(v, do)
			return t.Format(), err
		}, nil
	case "currency":
		return func(v string) (string, error) {
			c, err := clean.ParseCurrency(v)
			return clean.FormatCurrency(c), err
		}, nil
	case "status":
		fields := defaultStatusFields
		if f.field != "" {
			sf, err := clean.ParseStatusField(f.field)
			if err != nil {
				return nil, usagef("--field: %v", err)
			}
			fields = []clean.StatusField{sf}
		}
		return func(v string) (string, error) {
			var first error
			for _, sf := range fields {
				s, err := clean.ParseStatus(sf, v)
				if err == nil {
					return clean.FormatStatus(s), nil
				}
				if first == nil {
					first = err
				}
			}
			if len(fields) == 1 {
				return "", first
			}
			// The first field's complaint would read as if only it was tried.
			names := make([]string, len(fields))
			for i, sf := range fields {
				names[i] = sf.String()
			}
			return "", fmt.Errorf("%q is a status word of none of %s; --field names one to see its words", v, strings.Join(names, ", "))
		}, nil
	case "":
		return nil, usagef("--as is required: amount, date, datetime, currency or status")
	}
	return nil, usagef("--as %q is not amount, date, datetime, currency or status", f.as)
}
