package graph_test

import (
	"os"
	"testing"

	"github.com/dezky/platform/internal/testing/testdb"
)

func TestMain(m *testing.M) { os.Exit(testdb.Main(m)) }
