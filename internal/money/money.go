// Package money holds Dezky's money arithmetic: amounts are integer minor
// units of an ISO 4217 currency, never floats, and every derived figure
// (monthly recurring revenue, a margin share) is computed by one documented
// rounding rule here, so a report can be reproduced from its rows.
package money

import (
	"fmt"
	"strings"

	"golang.org/x/text/currency"
)

// Currency normalises an ISO 4217 code to upper case and checks that it is
// a currency code with minor units the billing provider can charge in.
func Currency(code string) (string, error) {
	c := strings.ToUpper(strings.TrimSpace(code))
	if len(c) != 3 {
		return "", fmt.Errorf("currency %q: want a three-letter ISO 4217 code such as EUR", code)
	}
	unit, err := currency.ParseISO(c)
	if err != nil {
		return "", fmt.Errorf("currency %q: not an ISO 4217 code", code)
	}
	if unit.String() == "XXX" || strings.HasPrefix(c, "X") {
		// XXX, XAU, XDR…: no currency, precious metals and units of account.
		return "", fmt.Errorf("currency %q: not a currency money can be charged in", code)
	}
	return c, nil
}

// Interval is a billing interval.
type Interval string

// The billing intervals.
const (
	Month Interval = "MONTH"
	Year  Interval = "YEAR"
)

// CycleAmount is what one billing cycle costs: unitAmount per seat when
// perSeat, else unitAmount once.
func CycleAmount(unitAmount int64, perSeat bool, seats int) int64 {
	if !perSeat {
		return unitAmount
	}
	return unitAmount * int64(seats)
}

// MonthlyRecurring is the monthly recurring revenue of a cycle amount: the
// amount itself for MONTH, and for YEAR the amount divided by 12, rounded
// half up to the minor unit. Negative amounts are not money here and
// yield 0.
func MonthlyRecurring(cycleAmount int64, interval Interval) int64 {
	if cycleAmount <= 0 {
		return 0
	}
	if interval == Year {
		return (cycleAmount + 6) / 12
	}
	return cycleAmount
}

// Share is basisPoints/10000 of amount (a partner's margin of 20% is 2000
// basis points), rounded half up to the minor unit; it is 0 for
// non-positive inputs.
func Share(amount int64, basisPoints int) int64 {
	if amount <= 0 || basisPoints <= 0 {
		return 0
	}
	return (amount*int64(basisPoints) + 5000) / 10000
}

// Format renders amount minor units of currency (upper-case ISO 4217) as
// a decimal with the currency's minor-unit digits and its code, e.g.
// Format(1200, "EUR") is "12.00 EUR" and Format(500, "JPY") "500 JPY".
// It is for messages; money is stored and computed as minor units.
func Format(amount int64, code string) string {
	digits := 2
	if unit, err := currency.ParseISO(code); err == nil {
		digits, _ = currency.Standard.Rounding(unit)
	}
	sign := ""
	if amount < 0 {
		sign, amount = "-", -amount
	}
	if digits == 0 {
		return fmt.Sprintf("%s%d %s", sign, amount, code)
	}
	pow := int64(1)
	for range digits {
		pow *= 10
	}
	return fmt.Sprintf("%s%d.%0*d %s", sign, amount/pow, digits, amount%pow, code)
}
