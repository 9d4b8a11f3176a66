package emulatortest

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/smithy-go/middleware"
)

// Calls counts the DynamoDB operations a client sends, by operation name
// ("GetItem", "TransactWriteItems", …), and can make chosen ones fail: an
// SDK middleware on the real client, added with Option.
type Calls struct {
	mu    sync.Mutex
	n     map[string]int
	fault func(params any) error
}

// NewCalls returns a counter at zero.
func NewCalls() *Calls { return &Calls{n: map[string]int{}} }

// Option adds the counter to a client: dynamodb.NewFromConfig(cfg, c.Option).
func (c *Calls) Option(o *dynamodb.Options) {
	o.APIOptions = append(o.APIOptions, func(s *middleware.Stack) error {
		return s.Initialize.Add(middleware.InitializeMiddlewareFunc("count", func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			c.mu.Lock()
			c.n[strings.TrimSuffix(strings.TrimPrefix(fmt.Sprintf("%T", in.Parameters), "*dynamodb."), "Input")]++
			fault := c.fault
			c.mu.Unlock()
			if fault != nil {
				if err := fault(in.Parameters); err != nil {
					return middleware.InitializeOutput{}, middleware.Metadata{}, err
				}
			}
			return next.HandleInitialize(ctx, in)
		}), middleware.Before)
	})
}

// Reset zeroes the counts and returns them as they were.
func (c *Calls) Reset() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.n
	c.n = map[string]int{}
	return n
}

// SetFault makes every operation for which f returns an error fail with
// it, before it is sent; nil stops the faults. f also sees the operations it
// lets through.
func (c *Calls) SetFault(f func(params any) error) {
	c.mu.Lock()
	c.fault = f
	c.mu.Unlock()
}
