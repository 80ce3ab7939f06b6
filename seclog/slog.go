package seclog

import (
	"context"
	"encoding/base64"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"go.uber.org/zap/zapcore"
)

// This file puts a log/slog handler under zap: zap stays the engine (level
// checks, the sampler and its drop counts, the caller), and slogCore, a
// zapcore.Core, hands each entry that zap decided to write to the handler
// as one slog.Record. An event is thus the same through both: the same
// message, level, fields in the same order, and the same sampling.

// slogLevel maps a zap level to a slog level. zap's levels are one apart
// (Debug -1 … Fatal 5), slog's four apart (Debug -4, Info 0, Warn 4,
// Error 8), so Debug, Info, Warn and Error land on slog's own names, and
// DPanic, Panic and Fatal above Error (ERROR+4, ERROR+8, ERROR+12).
func slogLevel(l zapcore.Level) slog.Level { return slog.Level(4 * int(l)) }

// slogCore is a zapcore.Core that writes to a slog handler.
type slogCore struct {
	h    recordWriter
	with []zapcore.Field // fields given to With, written before each entry's own
}

// recordWriter is what slogCore needs of a slog.Handler: slogCore never
// calls WithAttrs or WithGroup (see With).
type recordWriter interface {
	Enabled(context.Context, slog.Level) bool
	Handle(context.Context, slog.Record) error
}

func (c *slogCore) Enabled(l zapcore.Level) bool {
	return c.h.Enabled(context.Background(), slogLevel(l))
}

// With keeps fs and writes them with each entry, after the logger's name
// and before the entry's own fields, as zap does. They are not handed to
// the handler's WithAttrs once: the "logger" attribute, which comes from
// each entry, would then follow them, or fall inside the group of a
// zap.Namespace among them. The security events use no With; only
// messages written through [Logger.Zap] pay the re-encoding.
func (c *slogCore) With(fs []zapcore.Field) zapcore.Core {
	return &slogCore{h: c.h, with: append(c.with[:len(c.with):len(c.with)], fs...)}
}

func (c *slogCore) Check(e zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if c.Enabled(e.Level) {
		return ce.AddCore(e, c)
	}
	return ce
}

// Write hands the entry to the handler: the entry's time, level and
// message; its caller's program counter (the handler writes the source
// when it is asked to, slog.HandlerOptions.AddSource); then the logger's
// name as the "logger" attribute, the fields, and the stack trace as
// "stacktrace" when zap took one, in zap's order. A context passed as a
// field by [Logger.Log] (see ctxField) becomes the record's context.
func (c *slogCore) Write(e zapcore.Entry, fs []zapcore.Field) error {
	var pc uintptr
	if e.Caller.Defined {
		pc = e.Caller.PC
	}
	r := slog.NewRecord(e.Time, slogLevel(e.Level), e.Message, pc)
	ctx := context.Background()
	enc := encoders.Get().(*attrEncoder)
	if e.LoggerName != "" {
		enc.add(slog.String("logger", e.LoggerName))
	}
	for _, fs := range [2][]zapcore.Field{c.with, fs} {
		for _, f := range fs {
			if f.Type == zapcore.SkipType {
				if f.Key == ctxKey {
					ctx, _ = f.Interface.(context.Context)
				}
				continue
			}
			f.AddTo(enc)
		}
	}
	if e.Stack != "" {
		enc.add(slog.String("stacktrace", e.Stack))
	}
	r.AddAttrs(enc.finish()...) // copies: the record does not keep enc's slice
	// An event has about 10 attributes; a huge one's buffer is not kept.
	if cap(enc.attrs) <= 64 {
		clear(enc.attrs)
		enc.attrs = enc.attrs[:0]
		encoders.Put(enc)
	}
	if ctx == nil {
		ctx = context.Background()
	}
	return c.h.Handle(ctx, r)
}

// encoders keeps the encoders of Write, so that the attributes of an
// event are gathered without an allocation.
var encoders = sync.Pool{New: func() any { return &attrEncoder{attrs: make([]slog.Attr, 0, 24)} }}

func (*slogCore) Sync() error { return nil }

// ctxField carries a request's context in a zap field of type SkipType:
// zap's encoders write nothing for it, slogCore hands it to the handler
// as the record's context (as slog.Logger.LogAttrs(ctx, …) does), so a
// handler that reads a trace id from the context finds it.
func ctxField(ctx context.Context) zapcore.Field {
	return zapcore.Field{Key: ctxKey, Type: zapcore.SkipType, Interface: ctx}
}

// ctxKey names the field of ctxField.
const ctxKey = "seclog.context"

// attrEncoder is a zapcore.ObjectEncoder that turns zap fields into slog
// attributes, keeping their order and their types: strings, integers,
// booleans, floats, durations and times as slog's own kinds, errors as
// zap writes them (the message, and "<key>Verbose" or "<key>Causes" when
// zap adds them), objects as groups, namespaces as groups around the
// fields that follow, arrays and reflected values as slog.Any.
type attrEncoder struct {
	attrs []slog.Attr
	open  []namespace // namespaces opened, outermost first
}

// namespace is an open zap namespace: its key, and the attributes that
// came before it.
type namespace struct {
	key    string
	before []slog.Attr
}

// finish closes the open namespaces and returns the attributes.
func (e *attrEncoder) finish() []slog.Attr {
	for i := len(e.open) - 1; i >= 0; i-- {
		ns := e.open[i]
		e.attrs = append(ns.before, slog.Attr{Key: ns.key, Value: slog.GroupValue(e.attrs...)})
	}
	e.open = nil
	return e.attrs
}

func (e *attrEncoder) add(a slog.Attr) { e.attrs = append(e.attrs, a) }

func (e *attrEncoder) OpenNamespace(key string) {
	e.open = append(e.open, namespace{key: key, before: e.attrs})
	e.attrs = nil
}

func (e *attrEncoder) AddObject(key string, m zapcore.ObjectMarshaler) error {
	var sub attrEncoder
	err := m.MarshalLogObject(&sub)
	e.add(slog.Attr{Key: key, Value: slog.GroupValue(sub.finish()...)})
	return err
}

// AddArray keeps the array as zap's map encoder builds it ([]any, an
// object element as map[string]any): slog has no array kind, and a JSON
// handler marshals these as zap does, but for the keys of an object inside
// an array, which come out sorted.
func (e *attrEncoder) AddArray(key string, m zapcore.ArrayMarshaler) error {
	mo := zapcore.NewMapObjectEncoder()
	err := mo.AddArray(key, m)
	e.add(slog.Any(key, mo.Fields[key]))
	return err
}

func (e *attrEncoder) AddBinary(key string, v []byte) {
	e.add(slog.String(key, base64.StdEncoding.EncodeToString(v)))
}
func (e *attrEncoder) AddByteString(key string, v []byte) { e.add(slog.String(key, string(v))) }
func (e *attrEncoder) AddBool(key string, v bool)         { e.add(slog.Bool(key, v)) }
func (e *attrEncoder) AddComplex128(key string, v complex128) {
	e.add(slog.String(key, complexString(v, 64)))
}
func (e *attrEncoder) AddComplex64(key string, v complex64) {
	e.add(slog.String(key, complexString(complex128(v), 32)))
}
func (e *attrEncoder) AddDuration(key string, v time.Duration) { e.add(slog.Duration(key, v)) }
func (e *attrEncoder) AddFloat64(key string, v float64)        { e.add(slog.Float64(key, v)) }

// AddFloat32 keeps the float32's shortest decimal form (0.1, not
// 0.10000000149011612), as zap writes it.
func (e *attrEncoder) AddFloat32(key string, v float32) {
	f, _ := strconv.ParseFloat(strconv.FormatFloat(float64(v), 'g', -1, 32), 64)
	e.add(slog.Float64(key, f))
}
func (e *attrEncoder) AddInt(key string, v int)         { e.add(slog.Int64(key, int64(v))) }
func (e *attrEncoder) AddInt64(key string, v int64)     { e.add(slog.Int64(key, v)) }
func (e *attrEncoder) AddInt32(key string, v int32)     { e.add(slog.Int64(key, int64(v))) }
func (e *attrEncoder) AddInt16(key string, v int16)     { e.add(slog.Int64(key, int64(v))) }
func (e *attrEncoder) AddInt8(key string, v int8)       { e.add(slog.Int64(key, int64(v))) }
func (e *attrEncoder) AddString(key, v string)          { e.add(slog.String(key, v)) }
func (e *attrEncoder) AddTime(key string, v time.Time)  { e.add(slog.Time(key, v)) }
func (e *attrEncoder) AddUint(key string, v uint)       { e.add(slog.Uint64(key, uint64(v))) }
func (e *attrEncoder) AddUint64(key string, v uint64)   { e.add(slog.Uint64(key, v)) }
func (e *attrEncoder) AddUint32(key string, v uint32)   { e.add(slog.Uint64(key, uint64(v))) }
func (e *attrEncoder) AddUint16(key string, v uint16)   { e.add(slog.Uint64(key, uint64(v))) }
func (e *attrEncoder) AddUint8(key string, v uint8)     { e.add(slog.Uint64(key, uint64(v))) }
func (e *attrEncoder) AddUintptr(key string, v uintptr) { e.add(slog.Uint64(key, uint64(v))) }
func (e *attrEncoder) AddReflected(key string, v any) error {
	e.add(slog.Any(key, v))
	return nil
}

// complexString writes a complex number as zap's JSON encoder does: "1+2i".
func complexString(v complex128, bits int) string {
	b := strconv.AppendFloat(nil, real(v), 'f', -1, bits)
	if imag(v) >= 0 {
		b = append(b, '+')
	}
	b = strconv.AppendFloat(b, imag(v), 'f', -1, bits)
	return string(append(b, 'i'))
}

// defaultHandler is the handler of [Default] and of a Config with neither
// Logger nor Handler: it writes to slog.Default()'s handler as it is when
// each record is written, so that a slog.SetDefault made after the
// security logger (in main, after the packages' New) is honoured.
type defaultHandler struct{}

func (defaultHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return slog.Default().Handler().Enabled(ctx, l)
}

func (defaultHandler) Handle(ctx context.Context, r slog.Record) error {
	return slog.Default().Handler().Handle(ctx, r)
}
