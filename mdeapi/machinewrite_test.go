package mdeapi_test

import (
	"context"
	"strings"
	"testing"
)

// Every write route of the Machine API, in order, answered as golden
// files pin it; a refused write stores nothing.
func TestMachineWriteGolden(t *testing.T) {
	f, tok, at := machineFixture(t)
	reader := f.token(t, f.tenant, f.app)
	machineGolden(t, f, at, []goldenCase{
		{"add tag", "POST", "/api/machines/" + machine1 + "/tags", `{"Value":"new tag","Action":"Add"}`, tok, 200, "machine-tag-added"},
		{"remove tag", "POST", "/api/machines/" + machine1 + "/tags", `{"Value":"new tag","Action":"Remove"}`, tok, 200, "machine-by-id"},
		{"tag write needs ReadWrite", "POST", "/api/machines/" + machine1 + "/tags", `{"Value":"x","Action":"Add"}`, reader, 403, "machine-tag-403"},
		{"tag bad action", "POST", "/api/machines/" + machine1 + "/tags", `{"Value":"x","Action":"Toggle"}`, tok, 400, "machine-tag-400"},
		{"device value", "POST", "/api/machines/" + machine1 + "/setDeviceValue", `{"DeviceValue":"High"}`, tok, 200, "machine-device-value"},
		{"patch", "PATCH", "/api/machines/" + machine1, `{"machineTags":["only"],"deviceValue":"Low"}`, tok, 200, "machine-patched"},
		{"patch with an empty tag", "PATCH", "/api/machines/" + machine1, `{"machineTags":["ok",""]}`, tok, 400, "machine-patch-400-tag"},
		{"patch unknown property", "PATCH", "/api/machines/" + machine1, `{"osPlatform":"Linux"}`, tok, 400, "machine-patch-400"},
		{"bulk tags", "POST", "/api/machines/AddOrRemoveTagForMultipleMachines", `{"Value":"bulk","Action":"Add","MachineIds":["` + machine1 + `","` + machine2 + `"]}`, tok, 200, "machines-bulk-tag"},
		{"bulk tags unknown machine", "POST", "/api/machines/AddOrRemoveTagForMultipleMachines", `{"Value":"bulk","Action":"Add","MachineIds":["` + strings.Repeat("0", 40) + `"]}`, tok, 404, "machine-bulk-404"},
	})
	// The refused writes stored nothing: machine1 has the tags of the
	// last accepted writes (PATCH, then the bulk tag).
	m, err := f.store.Machine(context.Background(), f.tenant.ID, machine1)
	if err != nil || strings.Join(m.MachineTags, ",") != "only,bulk" || m.DeviceValue == nil || *m.DeviceValue != "Low" {
		t.Errorf("machine1 after the writes: tags %v, device value %v, %v", m.MachineTags, m.DeviceValue, err)
	}
}
