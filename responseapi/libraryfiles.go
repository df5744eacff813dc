package responseapi

import (
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/httpserve"
	"github.com/openatp/openatp/mdeapi"
	"github.com/openatp/openatp/readmodel"
	"github.com/openatp/openatp/wire"
)

// The live response library (issue 23): GET /api/libraryfiles lists the
// tenant's files, POST /api/libraryfiles uploads one (multipart/form-data,
// as the service takes it), DELETE /api/libraryfiles/{fileName} deletes
// one. Every route takes Library.Manage (application and delegated); a
// delegated mdeapi.Caller also needs a role with "Live response advanced" to
// change the library, and a live response permission to list it. The
// RunScript and PutFile commands of a live response name these files.

// maxFormText bounds a text field of the upload form.
const maxFormText = 64 << 10

// requireLibrary refuses a mdeapi.Caller without Library.Manage.
func requireLibrary(p *openatp.Principal) error {
	perm := []string{openatp.PermLibraryManage}
	return mdeapi.RequirePermissions(p, perm, perm)
}

// libraryRole checks that a delegated mdeapi.Caller has a role with one of perms
// (none for an application, or a tenant without RBAC).
func libraryRole(r *http.Request, model *readmodel.Model, p *openatp.Principal, perms ...string) error {
	if !p.Delegated {
		return nil
	}
	view, access, err := mdeapi.MachineScope(r.Context(), model, p)
	if err != nil {
		return err
	}
	view.Release()
	if access == nil {
		return nil
	}
	for _, perm := range perms {
		if access.Has(perm) {
			return nil
		}
	}
	return openatp.CodedErrorf(openatp.Forbidden, "Forbidden", "The user %s has no role with the '%s' permission.", mdeapi.ClipID(p.UserName), perms[0])
}

// handleLibraryFiles serves GET /api/libraryfiles: the tenant's library,
// ordered by name.
func handleLibraryFiles(model *readmodel.Model, store openatp.Store, authn *httpserve.Authenticator, limiter httpserve.Limiter) http.Handler {
	return httpserve.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		p, err := mdeapi.Caller(r, authn, limiter, "libraryfiles", requireLibrary)
		if err != nil {
			return err
		}
		if err := mdeapi.NoQuery(r); err != nil {
			return err
		}
		if err := libraryRole(r, model, p, openatp.PermLiveResponseBasic, openatp.PermLiveResponseAdvanced); err != nil {
			return err
		}
		files, err := store.LibraryFiles(r.Context(), p.TenantID)
		if err != nil {
			return err
		}
		b, end := mdeapi.OpenCollection(make([]byte, 0, 256*len(files)+256), r, "LibraryFiles", false, len(files), "")
		for i := range files {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendLibraryFile(b, &files[i])
		}
		mdeapi.WriteOData(w, append(b, end...))
		return nil
	})
}

// handleUploadLibraryFile serves POST /api/libraryfiles: a
// multipart/form-data body with the file (part "file", required),
// Description, ParametersDescription, HasParameters and OverrideIfExists;
// 200 and the stored file. A file larger than maxFile bytes, a missing
// file, a bad boolean or an existing name without OverrideIfExists: 400.
func handleUploadLibraryFile(model *readmodel.Model, store openatp.Store, authn *httpserve.Authenticator, limiter httpserve.Limiter, maxFile int64) http.Handler {
	return httpserve.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		p, err := mdeapi.Caller(r, authn, limiter, "libraryfiles", requireLibrary)
		if err != nil {
			return err
		}
		if err := libraryRole(r, model, p, openatp.PermLiveResponseAdvanced); err != nil {
			return err
		}
		f, override, err := readLibraryForm(r, maxFile)
		if err != nil {
			return err
		}
		f.CreatedBy = requestor(p)
		f, err = store.PutLibraryFile(r.Context(), p.TenantID, f, override)
		if err != nil {
			return err
		}
		b := append([]byte(`{"@odata.context":`), mdeapi.AppendMetadataURL(nil, r, "LibraryFiles/$entity")...)
		one := appendLibraryFile(nil, &f)
		mdeapi.WriteOData(w, append(append(b, ','), one[1:]...))
		return nil
	})
}

// readLibraryForm reads the upload form: the file (its name the part's
// file name, without a client's directories) and the other fields.
func readLibraryForm(r *http.Request, maxFile int64) (f openatp.LibraryFile, override bool, err error) {
	bad := func(format string, args ...any) error {
		return openatp.CodedErrorf(openatp.Invalid, "InvalidRequestBody", format, args...)
	}
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" || params["boundary"] == "" {
		return f, false, bad("The request body must be multipart/form-data.")
	}
	body := http.MaxBytesReader(nil, r.Body, maxFile+1<<20)
	mr := multipart.NewReader(body, params["boundary"])
	seen := false
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			if errors.Is(err, httpserve.ErrBodyTimeout) {
				return f, false, err
			}
			return f, false, bad("The multipart body is malformed or larger than %d bytes.", maxFile+1<<20)
		}
		name := part.FormName()
		if strings.EqualFold(name, "file") {
			if seen {
				return f, false, bad("file: only one file may be uploaded.")
			}
			seen = true
			fn := part.FileName() // the base name: FileName drops directories
			if i := strings.LastIndexAny(fn, `/\`); i >= 0 {
				fn = fn[i+1:]
			}
			f.FileName = fn
			content, err := io.ReadAll(io.LimitReader(part, maxFile+1))
			if err != nil {
				if errors.Is(err, httpserve.ErrBodyTimeout) {
					return f, false, err
				}
				return f, false, bad("The multipart body is malformed or larger than %d bytes.", maxFile+1<<20)
			}
			if int64(len(content)) > maxFile {
				return f, false, bad("file: the file is larger than %d bytes.", maxFile)
			}
			f.Content = content
			continue
		}
		var field **string
		var flag *bool
		switch strings.ToLower(name) {
		case "description":
			field = &f.Description
		case "parametersdescription":
			field = &f.ParametersDescription
		case "hasparameters":
			flag = &f.HasParameters
		case "overrideifexists":
			flag = &override
		default:
			continue // as the service: other fields are ignored
		}
		v, err := io.ReadAll(io.LimitReader(part, maxFormText+1))
		if err != nil || len(v) > maxFormText {
			return f, false, bad("%s: malformed or longer than %d bytes.", name, maxFormText)
		}
		s := string(v)
		if flag != nil {
			if s == "" {
				continue
			}
			b, err := strconv.ParseBool(strings.ToLower(s))
			if err != nil {
				return f, false, bad("%s: %q is not true or false.", name, openatp.Clip(s, 20))
			}
			*flag = b
			continue
		}
		if s != "" {
			*field = &s
		}
	}
	if !seen {
		return f, false, openatp.CodedErrorf(openatp.Invalid, "MissingRequiredParameter", "Parameter file is missing.")
	}
	return f, override, nil
}

// handleDeleteLibraryFile serves DELETE /api/libraryfiles/{fileName}: 204,
// or 404 for a name the library does not have.
func handleDeleteLibraryFile(model *readmodel.Model, store openatp.Store, authn *httpserve.Authenticator, limiter httpserve.Limiter) http.Handler {
	return httpserve.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		p, err := mdeapi.Caller(r, authn, limiter, "libraryfiles", requireLibrary)
		if err != nil {
			return err
		}
		if err := libraryRole(r, model, p, openatp.PermLiveResponseAdvanced); err != nil {
			return err
		}
		if err := store.DeleteLibraryFile(r.Context(), p.TenantID, r.PathValue("fileName")); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	})
}

// appendLibraryFile appends the JSON of a library file, its properties in
// the order of the documented example.
func appendLibraryFile(b []byte, f *openatp.LibraryFile) []byte {
	b = append(b, `{"fileName":`...)
	b = wire.AppendString(b, f.FileName)
	b = append(b, `,"sha256":`...)
	b = wire.AppendString(b, f.SHA256)
	b = append(b, `,"description":`...)
	b = wire.AppendStringPtr(b, f.Description)
	b = append(b, `,"creationTime":`...)
	b = wire.AppendTime(b, &f.CreationTime)
	b = append(b, `,"createdBy":`...)
	b = wire.AppendString(b, f.CreatedBy)
	b = append(b, `,"hasParameters":`...)
	b = strconv.AppendBool(b, f.HasParameters)
	b = append(b, `,"parametersDescription":`...)
	b = wire.AppendStringPtr(b, f.ParametersDescription)
	return append(b, '}')
}
