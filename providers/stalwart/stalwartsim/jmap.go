package stalwartsim

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
)

type invocation struct {
	name   string
	args   json.RawMessage
	callID string
}

func (i *invocation) UnmarshalJSON(b []byte) error {
	var parts []json.RawMessage
	if err := json.Unmarshal(b, &parts); err != nil || len(parts) != 3 {
		return errNotRequest
	}
	if json.Unmarshal(parts[0], &i.name) != nil || json.Unmarshal(parts[2], &i.callID) != nil {
		return errNotRequest
	}
	i.args = parts[1]
	return nil
}

type simpleErr string

func (e simpleErr) Error() string { return string(e) }

const errNotRequest = simpleErr("not a JMAP request")

// methodError is a JMAP method-level error.
type methodError struct {
	Type        string `json:"type"`
	Description string `json:"description,omitempty"`
}

func (e *methodError) Error() string { return e.Type }

func (s *Sim) jmap(w http.ResponseWriter, r *http.Request) {
	raw, err := readBody(r)
	if err != nil {
		problem(w, http.StatusBadRequest, "urn:ietf:params:jmap:error:notJSON", "Not JSON", "Could not read request body.")
		return
	}
	var generic any
	if err := json.Unmarshal(raw, &generic); err != nil {
		problem(w, http.StatusBadRequest, "urn:ietf:params:jmap:error:notJSON", "Not JSON",
			"The content type of the request was not application/json or the request did not parse as I-JSON.")
		return
	}
	var req struct {
		Using       []string     `json:"using"`
		MethodCalls []invocation `json:"methodCalls"`
	}
	if err := json.Unmarshal(raw, &req); err != nil || req.Using == nil || req.MethodCalls == nil {
		problem(w, http.StatusBadRequest, "urn:ietf:params:jmap:error:notRequest", "Not Request",
			"The request parsed as JSON but did not match the type signature of the Request object.")
		return
	}
	using := map[string]bool{}
	for _, u := range req.Using {
		switch u {
		case "urn:ietf:params:jmap:core", "urn:stalwart:jmap":
			using[u] = true
		default:
			if !strings.HasPrefix(u, "urn:ietf:params:jmap:") {
				problem(w, http.StatusBadRequest, "urn:ietf:params:jmap:error:unknownCapability", "Unknown Capability",
					"The request used an unknown capability: "+u)
				return
			}
		}
	}
	if len(req.MethodCalls) > 16 {
		writeJSON(w, http.StatusBadRequest, map[string]any{"type": "urn:ietf:params:jmap:error:limit", "limit": "maxCallsInRequest",
			"status": 400, "detail": "Too many calls in request."})
		return
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	s.runTasksLocked()

	var responses [][]any
	results := map[string]struct {
		name string
		val  any
	}{}
	for _, inv := range req.MethodCalls {
		res, err := s.dispatch(inv, using, results)
		if err != nil {
			responses = append(responses, []any{"error", err, inv.callID})
			continue
		}
		// Round-trip through JSON so result references see wire values.
		b, _ := json.Marshal(res)
		var v any
		_ = json.Unmarshal(b, &v)
		results[inv.callID] = struct {
			name string
			val  any
		}{inv.name, v}
		responses = append(responses, []any{inv.name, json.RawMessage(b), inv.callID})
	}
	writeJSON(w, http.StatusOK, map[string]any{"methodResponses": responses, "sessionState": strconv.FormatUint(s.state, 10)})
}

func (s *Sim) dispatch(inv invocation, using map[string]bool, results map[string]struct {
	name string
	val  any
}) (any, *methodError) {
	if et, ok := s.methodFaults.take(inv.name); ok {
		return nil, &methodError{Type: et, Description: "Injected failure"}
	}
	obj, op, ok := strings.Cut(inv.name, "/")
	if !ok || !strings.HasPrefix(obj, "x:") || !using["urn:stalwart:jmap"] {
		return nil, &methodError{Type: "unknownMethod", Description: "Unknown method " + inv.name}
	}
	var args map[string]json.RawMessage
	if err := json.Unmarshal(inv.args, &args); err != nil || args == nil {
		return nil, &methodError{Type: "invalidArguments", Description: "Arguments must be an object."}
	}
	// Resolve result references ("#prop").
	for k, v := range args {
		if !strings.HasPrefix(k, "#") {
			continue
		}
		var ref struct {
			ResultOf string `json:"resultOf"`
			Name     string `json:"name"`
			Path     string `json:"path"`
		}
		if err := json.Unmarshal(v, &ref); err != nil {
			return nil, &methodError{Type: "invalidResultReference", Description: "Malformed result reference."}
		}
		prev, ok := results[ref.ResultOf]
		if !ok || prev.name != ref.Name {
			return nil, &methodError{Type: "invalidResultReference", Description: "Result reference not found."}
		}
		val, ok := evalPointer(prev.val, ref.Path)
		if !ok {
			return nil, &methodError{Type: "invalidResultReference", Description: "Invalid path " + ref.Path}
		}
		b, _ := json.Marshal(val)
		delete(args, k)
		name := k[1:]
		if _, dup := args[name]; dup {
			return nil, &methodError{Type: "invalidArguments", Description: "Both " + name + " and #" + name + " given."}
		}
		args[name] = b
	}
	var acct string
	_ = json.Unmarshal(args["accountId"], &acct)
	if acct != accountID {
		return nil, &methodError{Type: "accountNotFound"}
	}
	var kind *objectKind
	switch obj {
	case "x:Domain":
		kind = s.domainKind()
	case "x:Account":
		kind = s.accountKind()
	case "x:DkimSignature":
		kind = s.dkimKind()
	case "x:WebHook":
		kind = s.webhookKind()
	default:
		return nil, &methodError{Type: "unknownMethod", Description: "Unknown method " + inv.name}
	}
	switch op {
	case "get":
		return s.doGet(kind, args)
	case "query":
		return s.doQuery(kind, args)
	case "set":
		return s.doSet(kind, args)
	}
	return nil, &methodError{Type: "unknownMethod", Description: "Unknown method " + inv.name}
}

// evalPointer evaluates a JMAP JSON pointer (RFC 6901 plus "*" over arrays).
func evalPointer(v any, path string) (any, bool) {
	if path == "" || path == "/" {
		return v, true
	}
	if !strings.HasPrefix(path, "/") {
		return nil, false
	}
	segs := strings.Split(path[1:], "/")
	return walk(v, segs)
}

func walk(v any, segs []string) (any, bool) {
	if len(segs) == 0 {
		return v, true
	}
	seg := strings.ReplaceAll(strings.ReplaceAll(segs[0], "~1", "/"), "~0", "~")
	switch x := v.(type) {
	case map[string]any:
		c, ok := x[seg]
		if !ok {
			return nil, false
		}
		return walk(c, segs[1:])
	case []any:
		if seg == "*" {
			var out []any
			for _, e := range x {
				r, ok := walk(e, segs[1:])
				if !ok {
					return nil, false
				}
				if arr, isArr := r.([]any); isArr {
					out = append(out, arr...)
				} else {
					out = append(out, r)
				}
			}
			if out == nil {
				out = []any{}
			}
			return out, true
		}
		i, err := strconv.Atoi(seg)
		if err != nil || i < 0 || i >= len(x) {
			return nil, false
		}
		return walk(x[i], segs[1:])
	}
	return nil, false
}

// objectKind adapts one object type to the generic get/query/set handlers.
type objectKind struct {
	ids    func() []string // sorted
	render func(id string) map[string]any
	// match reports whether the object matches a query filter.
	match  func(id string, filter map[string]any) (bool, *methodError)
	create func(obj map[string]json.RawMessage) (id string, serverSet map[string]any, se *setError)
	update func(id string, patch map[string]json.RawMessage) *setError
	// destroy removes the object or explains why not.
	destroy func(id string) *setError
	exists  func(id string) bool
}

type setError struct {
	Type             string   `json:"type"`
	Description      string   `json:"description,omitempty"`
	Properties       []string `json:"properties,omitempty"`
	ValidationErrors []any    `json:"validationErrors,omitempty"`
}

func (s *Sim) doGet(k *objectKind, args map[string]json.RawMessage) (any, *methodError) {
	var ids []string
	if raw, ok := args["ids"]; ok && string(raw) != "null" {
		if err := json.Unmarshal(raw, &ids); err != nil {
			return nil, &methodError{Type: "invalidArguments", Description: "ids must be an array of strings."}
		}
	} else {
		ids = k.ids()
	}
	var props []string
	if raw, ok := args["properties"]; ok && string(raw) != "null" {
		if err := json.Unmarshal(raw, &props); err != nil {
			return nil, &methodError{Type: "invalidArguments", Description: "properties must be an array of strings."}
		}
	}
	list := []map[string]any{}
	notFound := []string{}
	for _, id := range ids {
		if !k.exists(id) {
			notFound = append(notFound, id)
			continue
		}
		full := k.render(id)
		if props == nil {
			list = append(list, full)
			continue
		}
		sel := map[string]any{"id": id}
		for _, p := range props {
			if v, ok := full[p]; ok {
				sel[p] = v
			}
		}
		list = append(list, sel)
	}
	return map[string]any{"accountId": accountID, "state": strconv.FormatUint(s.state, 10), "list": list, "notFound": notFound}, nil
}

func (s *Sim) doQuery(k *objectKind, args map[string]json.RawMessage) (any, *methodError) {
	filter := map[string]any{}
	if raw, ok := args["filter"]; ok && string(raw) != "null" {
		if err := json.Unmarshal(raw, &filter); err != nil {
			return nil, &methodError{Type: "invalidArguments", Description: "filter must be an object."}
		}
	}
	position, limit := 0, 0
	if raw, ok := args["position"]; ok {
		_ = json.Unmarshal(raw, &position)
	}
	if raw, ok := args["limit"]; ok {
		_ = json.Unmarshal(raw, &limit)
	}
	var ids []string
	for _, id := range k.ids() {
		ok, me := k.match(id, filter)
		if me != nil {
			return nil, me
		}
		if ok {
			ids = append(ids, id)
		}
	}
	total := len(ids)
	if position > 0 {
		ids = ids[min(position, len(ids)):]
	}
	if limit > 0 && len(ids) > limit {
		ids = ids[:limit]
	}
	if ids == nil {
		ids = []string{}
	}
	return map[string]any{"accountId": accountID, "queryState": strconv.FormatUint(s.state, 10),
		"canCalculateChanges": false, "position": position, "ids": ids, "total": total}, nil
}

func (s *Sim) doSet(k *objectKind, args map[string]json.RawMessage) (any, *methodError) {
	old := strconv.FormatUint(s.state, 10)
	var create map[string]map[string]json.RawMessage
	var update map[string]map[string]json.RawMessage
	var destroy []string
	if raw, ok := args["create"]; ok && string(raw) != "null" {
		if err := json.Unmarshal(raw, &create); err != nil {
			return nil, &methodError{Type: "invalidArguments", Description: "create must map ids to objects."}
		}
	}
	if raw, ok := args["update"]; ok && string(raw) != "null" {
		if err := json.Unmarshal(raw, &update); err != nil {
			return nil, &methodError{Type: "invalidArguments", Description: "update must map ids to patches."}
		}
	}
	if raw, ok := args["destroy"]; ok && string(raw) != "null" {
		if err := json.Unmarshal(raw, &destroy); err != nil {
			return nil, &methodError{Type: "invalidArguments", Description: "destroy must be an array of ids."}
		}
	}
	if len(create)+len(update)+len(destroy) > 500 {
		return nil, &methodError{Type: "requestTooLarge"}
	}
	resp := map[string]any{"accountId": accountID, "oldState": old}
	created, notCreated := map[string]any{}, map[string]any{}
	cids := make([]string, 0, len(create))
	for cid := range create {
		cids = append(cids, cid)
	}
	sortStrings(cids)
	for _, cid := range cids {
		id, serverSet, se := k.create(create[cid])
		if se != nil {
			notCreated[cid] = se
			continue
		}
		serverSet["id"] = id
		created[cid] = serverSet
		s.state++
	}
	updated, notUpdated := map[string]any{}, map[string]any{}
	for id, patch := range update {
		if !k.exists(id) {
			notUpdated[id] = &setError{Type: "notFound"}
			continue
		}
		if se := k.update(id, patch); se != nil {
			notUpdated[id] = se
			continue
		}
		updated[id] = nil
		s.state++
	}
	destroyed, notDestroyed := []string{}, map[string]any{}
	for _, id := range destroy {
		if !k.exists(id) {
			notDestroyed[id] = &setError{Type: "notFound"}
			continue
		}
		if se := k.destroy(id); se != nil {
			notDestroyed[id] = se
			continue
		}
		destroyed = append(destroyed, id)
		s.state++
	}
	resp["newState"] = strconv.FormatUint(s.state, 10)
	resp["created"], resp["notCreated"] = nilIfEmpty(created), nilIfEmpty(notCreated)
	resp["updated"], resp["notUpdated"] = nilIfEmpty(updated), nilIfEmpty(notUpdated)
	resp["notDestroyed"] = nilIfEmpty(notDestroyed)
	if len(destroyed) > 0 {
		resp["destroyed"] = destroyed
	} else {
		resp["destroyed"] = nil
	}
	return resp, nil
}

func nilIfEmpty(m map[string]any) any {
	if len(m) == 0 {
		return nil
	}
	return m
}

func sortStrings(a []string) {
	for i := 1; i < len(a); i++ {
		for j := i; j > 0 && a[j] < a[j-1]; j-- {
			a[j], a[j-1] = a[j-1], a[j]
		}
	}
}
