package registry

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"github.com/sirupsen/logrus"
)

// RouteLogs sends distribution's logs, which go through logrus's standard
// logger, to logger instead of stderr. Logrus's standard logger is
// process-wide: berth-registry calls this once at start.
func RouteLogs(logger *slog.Logger) {
	std := logrus.StandardLogger()
	std.SetOutput(io.Discard)
	std.SetLevel(logrus.DebugLevel)
	std.ReplaceHooks(logrus.LevelHooks{})
	std.AddHook(slogHook{logger: logger})
}

// slogHook forwards logrus entries to slog, keeping level and fields.
type slogHook struct{ logger *slog.Logger }

func (slogHook) Levels() []logrus.Level { return logrus.AllLevels }

func (h slogHook) Fire(e *logrus.Entry) error {
	level := slog.LevelDebug
	switch {
	case e.Level <= logrus.ErrorLevel:
		level = slog.LevelError
	case e.Level == logrus.WarnLevel:
		level = slog.LevelWarn
	case e.Level == logrus.InfoLevel:
		level = slog.LevelInfo
	}
	// An error about one request (a blob the client asked for and the
	// registry lacks, a bad digest) is the client's: it gets the error in
	// the answer, the server's log only at info.
	if _, ok := e.Data["http.request.id"]; ok && level > slog.LevelInfo {
		level = slog.LevelInfo
	}
	if !h.logger.Enabled(context.Background(), level) {
		return nil
	}
	attrs := make([]any, 0, 2*len(e.Data))
	for k, v := range e.Data {
		if k == "go.version" {
			continue
		}
		attrs = append(attrs, k, fmt.Sprint(v))
	}
	h.logger.Log(context.Background(), level, e.Message, attrs...)
	return nil
}
