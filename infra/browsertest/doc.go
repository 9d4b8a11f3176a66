// Package browsertest drives the portal's web UI in headless Chromium against
// the local stack: sign-in, the credential manager's secret lifecycle, a
// viewer's read-only view and the admin pages. It has tests only.
package browsertest
