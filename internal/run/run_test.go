package run

import (
	"context"
	"errors"
	"testing"
)

func TestFirstErrorCancelsSiblings(t *testing.T) {
	t.Parallel()
	g := NewGroup(context.Background())
	boom := errors.New("boom")
	g.Go("waiter", func(ctx context.Context) error { <-ctx.Done(); return nil })
	g.Go("failer", func(context.Context) error { return boom })
	if err := g.Wait(); !errors.Is(err, boom) {
		t.Fatalf("Wait = %v", err)
	}
	if !errors.Is(context.Cause(g.Context()), boom) {
		t.Fatalf("cause = %v", context.Cause(g.Context()))
	}
	if g.Go("late", func(context.Context) error { return nil }) {
		t.Fatal("Go accepted work after Wait")
	}
}

func TestCancelStopsAndRefuses(t *testing.T) {
	t.Parallel()
	g := NewGroup(context.Background())
	g.Go("w", func(ctx context.Context) error { <-ctx.Done(); return nil })
	g.Cancel(nil)
	if g.Go("late", func(context.Context) error { return nil }) {
		t.Fatal("Go accepted work after Cancel")
	}
	if err := g.Wait(); err != nil {
		t.Fatalf("Wait = %v", err)
	}
}
