package portal

import (
	"context"
	"log/slog"
)

func logError(ctx context.Context, msg string, args ...any) {
	slog.ErrorContext(ctx, msg, args...)
}

func logWarn(ctx context.Context, msg string, args ...any) {
	slog.WarnContext(ctx, msg, args...)
}

func logInfo(ctx context.Context, msg string, args ...any) {
	slog.InfoContext(ctx, msg, args...)
}
