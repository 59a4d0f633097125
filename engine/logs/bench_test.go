package logs

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"
)

// BenchmarkWrite measures the Writer's throughput on typical lines, one
// line per Write (an interactive program) and 64 lines per Write (a
// chatty one filling the pipe), with rotation on.
func BenchmarkWrite(b *testing.B) {
	line := strings.Repeat("x", 79) + "\n"
	for _, per := range []int{1, 64} {
		b.Run(fmt.Sprintf("lines=%d", per), func(b *testing.B) {
			w := newWriter(b, newLog(b), Options{MaxSize: 10 << 20, MaxFiles: 2})
			p := []byte(strings.Repeat(line, per))
			tm := time.Now()
			b.SetBytes(int64(len(p)))
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if err := w.Write("stdout", p, tm); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*per)/b.Elapsed().Seconds(), "lines/s")
		})
	}
}

// BenchmarkWriterMemory reports the heap a Writer keeps between writes,
// once both streams have held an unfinished line (the worst steady
// state: both 16K line buffers allocated).
func BenchmarkWriterMemory(b *testing.B) {
	const n = 50
	dir := b.TempDir()
	for b.Loop() {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		ws := make([]*Writer, n)
		for i := range ws {
			w, err := NewWriter(fmt.Sprintf("%s/%d.log", dir, i), Options{})
			if err != nil {
				b.Fatal(err)
			}
			for range 10 {
				w.Write("stdout", []byte("a line\npartial"), time.Now())
				w.Write("stderr", []byte("a line\npartial"), time.Now())
			}
			ws[i] = w
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/n, "heapB/writer")
		for _, w := range ws {
			w.Close()
		}
		runtime.KeepAlive(ws)
	}
}

// BenchmarkRead measures reading back a 100k-line log: all of it, and
// --tail 100.
func BenchmarkRead(b *testing.B) {
	p := newLog(b)
	w := newWriter(b, p, Options{MaxSize: 4 << 20, MaxFiles: 5})
	line := []byte(strings.Repeat("x", 79) + "\n")
	for range 100000 {
		w.Write("stdout", line, time.Now())
	}
	w.Close()
	for _, tail := range []int{-1, 100} {
		b.Run(fmt.Sprintf("tail=%d", tail), func(b *testing.B) {
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				n = 0
				err := Read(context.Background(), p, ReadOptions{Tail: tail}, func(string, time.Time, []byte) error {
					n++
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "lines/s")
		})
	}
}
