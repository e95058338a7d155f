package clean

import (
	"testing"
	"time"
)

// Typical values of each shape, ASCII first: those are the bulk of the
// traffic and must not allocate.
var (
	benchAmounts = []string{"1234.50", "1,234,567.89", "¥1,234.50", "RMB 1234.5", "(1,234.50)", "-",
		"１，２３４．５０", "1.2万", "壹仟贰佰叁拾肆元伍角整"}
	benchDates     = []string{"2025-04-16", "2025/4/16", "20250416", "16.04.2025", "2025年4月16日", "45763", ""}
	benchDateTimes = []string{"2025-04-16T14:30:00+08:00", "2025-04-16 14:30:00", "1744785000123",
		"2025年4月16日 14时30分"}
)

func BenchmarkParseAmount(b *testing.B) {
	opt := AmountOptions{DefaultCurrency: tCNY}
	for _, in := range benchAmounts {
		b.Run(in, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_, _ = ParseAmount(in, opt)
			}
		})
	}
}

// BenchmarkNumberLookalike is asked of every value the mapping reads as a
// number or a date, nearly all of them ASCII.
func BenchmarkNumberLookalike(b *testing.B) {
	for _, in := range []string{"1234.50", "2025-04-16T14:30:00+08:00", "１，２３４．５０", "2025年4月16日 14时30分"} {
		b.Run(in, func(b *testing.B) {
			for b.Loop() {
				_, _ = NumberLookalike(in)
			}
		})
	}
}

func BenchmarkParseDate(b *testing.B) {
	opt := DateOptions{Order: DMY, Excel: Excel1900}
	for _, in := range benchDates {
		b.Run(in, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_, _ = ParseDate(in, opt)
			}
		})
	}
}

func BenchmarkParseDateTime(b *testing.B) {
	sh, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		b.Skip(err)
	}
	opt := DateOptions{TZ: sh}
	for _, in := range benchDateTimes {
		b.Run(in, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_, _ = ParseDateTime(in, opt)
			}
		})
	}
}

func BenchmarkNormalize(b *testing.B) {
	for _, in := range []string{"INV-2025-0042", "  padded  ", "上海华东贸易有限公司", "１，２３４．５０"} {
		b.Run(in, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = Normalize(in)
			}
		})
	}
}

func BenchmarkMatchKey(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		_ = MatchKey("ACME Trading Co., Ltd.")
	}
}

func BenchmarkParseStatus(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		_, _ = ParseStatus(ExpenseApprovalStatus, "approved")
	}
}
