package money

import "testing"

func TestCurrency(t *testing.T) {
	for in, want := range map[string]string{"eur": "EUR", " USD ": "USD", "chf": "CHF"} {
		got, err := Currency(in)
		if err != nil || got != want {
			t.Errorf("Currency(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "EU", "EURO", "ABC", "XXX", "XAU", "€"} {
		if got, err := Currency(in); err == nil {
			t.Errorf("Currency(%q) = %q, want an error", in, got)
		}
	}
}

func TestMonthlyRecurring(t *testing.T) {
	cases := []struct {
		unit     int64
		perSeat  bool
		seats    int
		interval Interval
		want     int64
	}{
		{600, true, 5, Month, 3000},
		{600, false, 5, Month, 600},
		{6000, true, 5, Year, 2500}, // 30000 / 12
		{1000, false, 0, Year, 83},  // 83.33 → 83
		{1003, false, 0, Year, 84},  // 83.58 → 84
		{1002, false, 0, Year, 84},  // 83.5 → 84 (half up)
		{600, true, 0, Month, 0},    // no seats
		{-5, false, 1, Month, 0},    // not money
	}
	for _, c := range cases {
		if got := MonthlyRecurring(CycleAmount(c.unit, c.perSeat, c.seats), c.interval); got != c.want {
			t.Errorf("MonthlyRecurring(%d×%v×%d, %s) = %d, want %d", c.unit, c.perSeat, c.seats, c.interval, got, c.want)
		}
	}
}

func TestShare(t *testing.T) {
	for _, c := range []struct {
		amount int64
		bp     int
		want   int64
	}{{10000, 2000, 2000}, {333, 1500, 50}, {3, 5000, 2}, {0, 2000, 0}, {100, 0, 0}} {
		if got := Share(c.amount, c.bp); got != c.want {
			t.Errorf("Share(%d, %d) = %d, want %d", c.amount, c.bp, got, c.want)
		}
	}
}

func TestFormat(t *testing.T) {
	for _, c := range []struct {
		amount int64
		code   string
		want   string
	}{
		{1200, "EUR", "12.00 EUR"},
		{5, "EUR", "0.05 EUR"},
		{0, "USD", "0.00 USD"},
		{-1205, "EUR", "-12.05 EUR"},
		{500, "JPY", "500 JPY"},
		{1234, "KWD", "1.234 KWD"},
		{10_000_000_000, "CHF", "100000000.00 CHF"},
	} {
		if got := Format(c.amount, c.code); got != c.want {
			t.Errorf("Format(%d, %s) = %q, want %q", c.amount, c.code, got, c.want)
		}
	}
}
