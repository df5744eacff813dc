package adminapi

import (
	"net/http"
	"strconv"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/httpserve"
	"github.com/openatp/openatp/internal/manage"
)

// addRBACAdminRoutes lists the admin routes that manage who may see what,
// doing what the CLI's usergroup, user, role and group commands do:
//
//	GET, POST   /_openatp/tenants/{t}/usergroups          {"id"?, "name"}
//	GET, POST   /_openatp/tenants/{t}/users               {"username", "password"?, "display_name"?, "groups"?}
//	PATCH       /_openatp/tenants/{t}/users/{name}        {"password"?, "display_name"?, "groups"?}
//	GET, POST   /_openatp/tenants/{t}/roles               {"name", "permissions"?, "user_groups"?}
//	PATCH, DELETE /_openatp/tenants/{t}/roles/{name}
//	GET, POST   /_openatp/tenants/{t}/groups              {"id"?, "name", "description"?, "rank"?, "rules"?, "user_groups"?}
//	PATCH, DELETE /_openatp/tenants/{t}/groups/{id}
func addRBACAdminRoutes(mux Mux, store openatp.Store, admin func(http.Handler) http.Handler) {
	h := func(f func(w http.ResponseWriter, r *http.Request, t openatp.Tenant) (int, any, error)) http.Handler {
		return admin(serveJSON(func(w http.ResponseWriter, r *http.Request) (int, any, error) {
			t, err := tenantOf(r, store)
			if err != nil {
				return 0, nil, err
			}
			return f(w, r, t)
		}))
	}
	mux("GET /_openatp/tenants/{t}/usergroups", h(func(w http.ResponseWriter, r *http.Request, t openatp.Tenant) (int, any, error) {
		v, err := manage.UserGroups(r.Context(), store, t.ID)
		return http.StatusOK, v, err
	}))
	mux("POST /_openatp/tenants/{t}/usergroups", h(func(w http.ResponseWriter, r *http.Request, t openatp.Tenant) (int, any, error) {
		var in struct{ ID, Name string }
		if err := decodeObject(w, r, &in); err != nil {
			return 0, nil, err
		}
		v, err := manage.CreateUserGroup(r.Context(), store, t.ID, in.ID, in.Name)
		return http.StatusCreated, v, err
	}))

	type userIn struct {
		UserName    string    `json:"username"`
		Password    *string   `json:"password"`
		DisplayName *string   `json:"display_name"`
		Groups      *[]string `json:"groups"`
	}
	mux("GET /_openatp/tenants/{t}/users", h(func(w http.ResponseWriter, r *http.Request, t openatp.Tenant) (int, any, error) {
		v, err := manage.Users(r.Context(), store, t.ID)
		return http.StatusOK, v, err
	}))
	mux("POST /_openatp/tenants/{t}/users", h(func(w http.ResponseWriter, r *http.Request, t openatp.Tenant) (int, any, error) {
		var in userIn
		if err := decodeObject(w, r, &in); err != nil {
			return 0, nil, err
		}
		v, err := manage.CreateUser(r.Context(), store, t.ID, manage.UserChange{Name: in.UserName, Password: in.Password, DisplayName: in.DisplayName, Groups: in.Groups})
		return http.StatusCreated, v, err
	}))
	mux("PATCH /_openatp/tenants/{t}/users/{name}", h(func(w http.ResponseWriter, r *http.Request, t openatp.Tenant) (int, any, error) {
		var in userIn
		if err := decodeObject(w, r, &in); err != nil {
			return 0, nil, err
		}
		v, err := manage.UpdateUser(r.Context(), store, t.ID, manage.UserChange{Name: r.PathValue("name"), Password: in.Password, DisplayName: in.DisplayName, Groups: in.Groups})
		return http.StatusOK, v, err
	}))

	type roleIn struct {
		Name        string    `json:"name"`
		Permissions *[]string `json:"permissions"`
		UserGroups  *[]string `json:"user_groups"`
	}
	mux("GET /_openatp/tenants/{t}/roles", h(func(w http.ResponseWriter, r *http.Request, t openatp.Tenant) (int, any, error) {
		v, err := manage.Roles(r.Context(), store, t.ID)
		return http.StatusOK, v, err
	}))
	mux("POST /_openatp/tenants/{t}/roles", h(func(w http.ResponseWriter, r *http.Request, t openatp.Tenant) (int, any, error) {
		var in roleIn
		if err := decodeObject(w, r, &in); err != nil {
			return 0, nil, err
		}
		v, err := manage.PutRole(r.Context(), store, t.ID, manage.RoleChange{Name: in.Name, Permissions: in.Permissions, UserGroups: in.UserGroups}, false)
		return http.StatusCreated, v, err
	}))
	mux("PATCH /_openatp/tenants/{t}/roles/{name}", h(func(w http.ResponseWriter, r *http.Request, t openatp.Tenant) (int, any, error) {
		var in roleIn
		if err := decodeObject(w, r, &in); err != nil {
			return 0, nil, err
		}
		v, err := manage.PutRole(r.Context(), store, t.ID, manage.RoleChange{Name: r.PathValue("name"), Permissions: in.Permissions, UserGroups: in.UserGroups}, true)
		return http.StatusOK, v, err
	}))
	mux("DELETE /_openatp/tenants/{t}/roles/{name}", h(func(w http.ResponseWriter, r *http.Request, t openatp.Tenant) (int, any, error) {
		return http.StatusOK, map[string]string{"deleted": r.PathValue("name")}, store.DeleteRole(r.Context(), t.ID, r.PathValue("name"))
	}))

	type groupIn struct {
		ID          *int64             `json:"id"`
		Name        *string            `json:"name"`
		Description *string            `json:"description"`
		Rank        *int               `json:"rank"`
		Rules       *[]manage.RuleView `json:"rules"`
		UserGroups  *[]string          `json:"user_groups"`
	}
	change := func(in groupIn) manage.GroupChange {
		c := manage.GroupChange{ID: in.ID, Name: in.Name, Description: in.Description, Rank: in.Rank, UserGroups: in.UserGroups}
		if in.Rules != nil {
			rows := []openatp.RuleRow{}
			for _, rv := range *in.Rules {
				rows = append(rows, openatp.RuleRow{Property: rv.Property, Values: rv.Values})
			}
			c.Rules = &rows
		}
		return c
	}
	groupID := func(r *http.Request) (int64, error) {
		id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
		if err != nil {
			return 0, openatp.CodedErrorf(openatp.Invalid, "InvalidInput", "device group id %q is not a number", clipID(r.PathValue("id")))
		}
		return id, nil
	}
	mux("GET /_openatp/tenants/{t}/groups", h(func(w http.ResponseWriter, r *http.Request, t openatp.Tenant) (int, any, error) {
		v, err := manage.Groups(r.Context(), store, t.ID)
		return http.StatusOK, v, err
	}))
	mux("POST /_openatp/tenants/{t}/groups", h(func(w http.ResponseWriter, r *http.Request, t openatp.Tenant) (int, any, error) {
		var in groupIn
		if err := decodeObject(w, r, &in); err != nil {
			return 0, nil, err
		}
		if in.Name == nil {
			return 0, nil, openatp.CodedErrorf(openatp.Invalid, "MissingRequiredParameter", "Parameter name is missing.")
		}
		v, err := manage.CreateGroup(r.Context(), store, t.ID, change(in))
		return http.StatusCreated, v, err
	}))
	mux("PATCH /_openatp/tenants/{t}/groups/{id}", h(func(w http.ResponseWriter, r *http.Request, t openatp.Tenant) (int, any, error) {
		id, err := groupID(r)
		if err != nil {
			return 0, nil, err
		}
		var in groupIn
		if err := decodeObject(w, r, &in); err != nil {
			return 0, nil, err
		}
		v, err := manage.UpdateGroup(r.Context(), store, t.ID, id, change(in))
		return http.StatusOK, v, err
	}))
	mux("DELETE /_openatp/tenants/{t}/groups/{id}", h(func(w http.ResponseWriter, r *http.Request, t openatp.Tenant) (int, any, error) {
		id, err := groupID(r)
		if err != nil {
			return 0, nil, err
		}
		return http.StatusOK, map[string]int64{"deleted": id}, store.DeleteGroup(r.Context(), t.ID, id)
	}))
	for p, allow := range map[string]string{
		"/_openatp/tenants/{t}/usergroups":   "GET, POST",
		"/_openatp/tenants/{t}/users":        "GET, POST",
		"/_openatp/tenants/{t}/users/{name}": "PATCH",
		"/_openatp/tenants/{t}/roles":        "GET, POST",
		"/_openatp/tenants/{t}/roles/{name}": "PATCH, DELETE",
		"/_openatp/tenants/{t}/groups":       "GET, POST",
		"/_openatp/tenants/{t}/groups/{id}":  "PATCH, DELETE",
	} {
		mux(p, admin(httpserve.MethodNotAllowed(allow)))
	}
}
