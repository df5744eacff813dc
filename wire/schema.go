package wire

import (
	"github.com/openatp/openatp"
	"github.com/openatp/openatp/odata"
)

// The properties of the Machine entity, by their index in MachineSchema
// (the documented order, which AppendMachine writes).
const (
	MID = iota
	MComputerDNSName
	MFirstSeen
	MLastSeen
	MOSPlatform
	MOSVersion
	MOSProcessor
	MVersion
	MLastIPAddress
	MLastExternalIPAddress
	MAgentVersion
	MOSBuild
	MHealthStatus
	MOnboardingStatus
	MRBACGroupID
	MRBACGroupName
	MRiskScore
	MExposureLevel
	MIsAADJoined
	MAADDeviceID
	MMachineTags
	MDeviceValue
	MIPAddresses
	MOSArchitecture
	machineProps
)

// MachineProperties are the names of the Machine entity's properties in
// the documented order: property i of MachineSchema, the order
// AppendMachine writes. Import reads records by them.
var MachineProperties = []string{
	"id", "computerDnsName", "firstSeen", "lastSeen", "osPlatform", "osVersion", "osProcessor", "version",
	"lastIpAddress", "lastExternalIpAddress", "agentVersion", "osBuild", "healthStatus", "onboardingStatus",
	"rbacGroupId", "rbacGroupName", "riskScore", "exposureLevel", "isAadJoined", "aadDeviceId",
	"machineTags", "deviceValue", "ipAddresses", "osArchitecture",
}

// IPAddressProperties are the properties of an entry of ipAddresses.
var IPAddressProperties = []string{"ipAddress", "macAddress", "type", "operationalStatus"}

// DerivedMachineProperty reports whether a Machine property is derived by
// openatp (from the tenant's device groups) rather than stored.
func DerivedMachineProperty(name string) bool {
	return name == "rbacGroupId" || name == "rbacGroupName"
}

// MachineStringField returns the field of m that holds the optional
// string property name, or nil if name is not one.
func MachineStringField(m *openatp.Machine, name string) **string {
	switch name {
	case "computerDnsName":
		return &m.ComputerDNSName
	case "osPlatform":
		return &m.OSPlatform
	case "osVersion":
		return &m.OSVersion
	case "osProcessor":
		return &m.OSProcessor
	case "version":
		return &m.Version
	case "lastIpAddress":
		return &m.LastIPAddress
	case "lastExternalIpAddress":
		return &m.LastExternalIPAddress
	case "agentVersion":
		return &m.AgentVersion
	case "healthStatus":
		return &m.HealthStatus
	case "onboardingStatus":
		return &m.OnboardingStatus
	case "riskScore":
		return &m.RiskScore
	case "exposureLevel":
		return &m.ExposureLevel
	case "aadDeviceId":
		return &m.AADDeviceID
	case "deviceValue":
		return &m.DeviceValue
	case "osArchitecture":
		return &m.OSArchitecture
	}
	return nil
}

// MachineSchema is the Machine entity for OData queries: every property
// may be selected; the documented filterable ones (mde-reference §6) may be
// filtered and ordered on.
var MachineSchema = machineSchema()

func machineSchema() *odata.Schema {
	p := func(name string, k odata.Kind, filter bool, values ...string) odata.Property {
		prop := odata.Prop(name, k, filter, values...)
		prop.Selectable = true
		return prop
	}
	props := make([]odata.Property, machineProps)
	props[MID] = p(MachineProperties[MID], odata.String, true)
	props[MComputerDNSName] = p(MachineProperties[MComputerDNSName], odata.String, true)
	props[MFirstSeen] = p(MachineProperties[MFirstSeen], odata.Time, false)
	props[MLastSeen] = p(MachineProperties[MLastSeen], odata.Time, true)
	props[MOSPlatform] = p(MachineProperties[MOSPlatform], odata.String, true)
	props[MOSVersion] = p(MachineProperties[MOSVersion], odata.String, false)
	props[MOSProcessor] = p(MachineProperties[MOSProcessor], odata.String, false)
	props[MVersion] = p(MachineProperties[MVersion], odata.String, true)
	props[MLastIPAddress] = p(MachineProperties[MLastIPAddress], odata.String, true)
	props[MLastExternalIPAddress] = p(MachineProperties[MLastExternalIPAddress], odata.String, false)
	props[MAgentVersion] = p(MachineProperties[MAgentVersion], odata.String, false)
	props[MOSBuild] = p(MachineProperties[MOSBuild], odata.Int, false)
	props[MHealthStatus] = p(MachineProperties[MHealthStatus], odata.Enum, true, openatp.HealthStatuses...)
	props[MOnboardingStatus] = p(MachineProperties[MOnboardingStatus], odata.Enum, true, openatp.OnboardingStatuses...)
	props[MRBACGroupID] = p(MachineProperties[MRBACGroupID], odata.Int, true)
	props[MRBACGroupName] = p(MachineProperties[MRBACGroupName], odata.String, false)
	props[MRiskScore] = p(MachineProperties[MRiskScore], odata.Enum, true, openatp.RiskScores...)
	props[MExposureLevel] = p(MachineProperties[MExposureLevel], odata.Enum, true, openatp.ExposureLevels...)
	props[MIsAADJoined] = p(MachineProperties[MIsAADJoined], odata.Bool, false)
	props[MAADDeviceID] = p(MachineProperties[MAADDeviceID], odata.String, true)
	props[MMachineTags] = p(MachineProperties[MMachineTags], odata.StringCollection, true)
	props[MDeviceValue] = p(MachineProperties[MDeviceValue], odata.Enum, true, openatp.DeviceValues...)
	props[MIPAddresses] = p(MachineProperties[MIPAddresses], odata.StringCollection, false)
	props[MOSArchitecture] = p(MachineProperties[MOSArchitecture], odata.Enum, false, openatp.OSArchitectures...)
	return odata.NewSchema(props...)
}

// SelectProperties appends to b the JSON object src (an entity as the
// Append functions of this package write it: compact, top-level properties
// in schema order) with only the properties whose index keep reports.
func SelectProperties(b, src []byte, keep func(i int) bool) []byte {
	b = append(b, '{')
	first := true
	i := 1 // past '{'
	for prop := 0; i < len(src) && src[i] != '}'; prop++ {
		start := i
		i = skipValue(src, i) // the name
		i++                   // ':'
		i = skipValue(src, i)
		if keep(prop) {
			if !first {
				b = append(b, ',')
			}
			b = append(b, src[start:i]...)
			first = false
		}
		if i < len(src) && src[i] == ',' {
			i++
		}
	}
	return append(b, '}')
}

// skipValue returns the index just past the compact JSON value at src[i].
func skipValue(src []byte, i int) int {
	switch src[i] {
	case '"':
		for i++; i < len(src); i++ {
			switch src[i] {
			case '\\':
				i++
			case '"':
				return i + 1
			}
		}
		return i
	case '{', '[':
		depth := 0
		for ; i < len(src); i++ {
			switch src[i] {
			case '"':
				i = skipValue(src, i) - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
		}
		return i
	}
	for i < len(src) && src[i] != ',' && src[i] != '}' && src[i] != ']' {
		i++
	}
	return i
}
