package config

import (
	"crypto/rand"
	"time"

	"credportal/shared/httpapi"
	"credportal/shared/portal"
)

// Admin returns the admin service over the clients' store.
func (c *Clients) Admin() *portal.Admin {
	return portal.NewAdmin(c.Store, c.Env.Portal, time.Now, rand.Reader)
}

// AdminAPI returns the handler of the admin routes.
func (c *Clients) AdminAPI() httpapi.AdminAPI {
	return httpapi.AdminAPI{Admin: c.Admin(), Identity: httpapi.Identity{AdminGroup: c.Env.AdminGroup, GroupsClaim: c.Env.GroupsClaim}}
}
