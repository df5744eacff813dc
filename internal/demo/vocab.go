package demo

// Vocabularies the generator draws from. They are fixed: changing one
// changes every generated data set.

// firstNames have distinct initials in their first 26 entries, so that
// "jsmith"-style names (initial + last name) stay unique.
var firstNames = []string{
	"alice", "bob", "carol", "david", "emma", "frank", "grace", "henry", "iris", "james",
	"kate", "liam", "maria", "noah", "olivia", "peter", "quinn", "rachel", "sam", "tina",
	"uma", "victor", "wendy", "xavier", "yara", "zoe",
	"aaron", "anna", "ben", "chloe", "daniel", "eva", "felix", "hannah", "jack", "julia",
	"leo", "lucy", "mark", "mia", "nina", "oscar", "paul", "ruby", "sara", "tom",
}

// lastNames end in letters (never digits) and do not contain "doe", which
// is kept for the case-twin users.
var lastNames = []string{
	"smith", "wong", "garcia", "mueller", "nguyen", "patel", "kim", "johnson", "brown", "silva",
	"rossi", "novak", "tanaka", "kowalski", "jensen", "martin", "lopez", "chen", "singh", "ivanova",
	"haddad", "okafor", "schmidt", "dubois", "larsen", "fischer", "moreau", "costa", "yilmaz", "sato",
	"walker", "hughes", "murphy", "oconnor", "becker", "weber", "khan", "ali", "santos", "reyes",
	"park", "lee", "hall", "young", "king", "wright", "scott", "green", "baker", "adams",
	"nelson", "carter", "mitchell", "perez", "roberts", "turner", "phillips", "campbell", "parker", "evans",
	"edwards", "collins", "stewart", "sanchez", "morris", "rogers", "reed", "cook", "morgan", "bell",
}

// serviceApps name the service accounts ("svc-sql") and server roles.
var serviceApps = []string{"sql", "web", "app", "backup", "sccm", "exchange", "sharepoint", "jenkins", "print", "monitor", "etl", "crm"}

var serverRoles = []string{"sql", "web", "app", "file", "dc", "exch", "print", "rds", "backup", "sccm", "iis", "ca"}

var linuxRoles = []string{"web", "db", "api", "cache", "k8s-node", "build", "kafka", "mq", "elk", "vpn", "proxy", "git"}

// Tags that generated machines carry (0-3 each).
var tagVocab = []string{"Finance", "HR", "Engineering", "Sales", "VIP", "PCI", "Kiosk", "Pilot", "Legacy", "Contractor", "Remote", "Datacenter-EU", "Datacenter-US"}

// osVariant is one operating system release with a matching version,
// build and agent version.
type osVariant struct {
	platform  string
	version   string
	build     int64  // 0: osBuild is null
	osVersion string // prefix; Windows variants append the build and a revision
	agent     string // agent version prefix
	weight    int    // relative frequency within its class
}

const (
	classWorkstation = iota
	classLaptop
	classServer
	classLinux
	classMac
)

var windowsClient = []osVariant{
	{"Windows10", "21H2", 19044, "10.0.19044", "10.8760", 5},
	{"Windows10", "22H2", 19045, "10.0.19045", "10.8760", 45},
	{"Windows11", "22H2", 22621, "10.0.22621", "10.8760", 10},
	{"Windows11", "23H2", 22631, "10.0.22631", "10.8760", 25},
	{"Windows11", "24H2", 26100, "10.0.26100", "10.8760", 15},
}

var windowsServer = []osVariant{
	{"WindowsServer2016", "1607", 14393, "10.0.14393", "10.8760", 10},
	{"WindowsServer2019", "1809", 17763, "10.0.17763", "10.8760", 45},
	{"WindowsServer2022", "21H2", 20348, "10.0.20348", "10.8760", 45},
}

var linuxOS = []osVariant{
	{"Linux", "22.04", 0, "Ubuntu 22.04", "101.24082", 40},
	{"Linux", "24.04", 0, "Ubuntu 24.04", "101.24082", 20},
	{"Linux", "9.4", 0, "Red Hat Enterprise Linux 9.4", "101.24072", 25},
	{"Linux", "8.10", 0, "Red Hat Enterprise Linux 8.10", "101.24072", 10},
	{"Linux", "12", 0, "Debian 12", "101.24082", 5},
}

var macOS = []osVariant{
	{"macOS", "14.6", 0, "14.6.1", "101.24092", 40},
	{"macOS", "15.1", 0, "15.1.1", "101.24092", 45},
	{"macOS", "13.7", 0, "13.7.1", "101.24062", 15},
}

// weighted is a value with a weight in parts per thousand.
type weighted struct {
	v string
	w int
}

var (
	healthDist  = []weighted{{"Active", 820}, {"Inactive", 130}, {"ImpairedCommunication", 20}, {"NoSensorData", 12}, {"NoSensorDataImpairedCommunication", 3}, {"Unknown", 15}}
	onboardDist = []weighted{{"Onboarded", 960}, {"CanBeOnboarded", 20}, {"Unsupported", 10}, {"InsufficientInfo", 10}}
	riskDist    = []weighted{{"None", 300}, {"Informational", 100}, {"Low", 300}, {"Medium", 200}, {"High", 80}, {"", 20}}
	exposeDist  = []weighted{{"None", 10}, {"Low", 400}, {"Medium", 450}, {"High", 120}, {"", 20}}
	valueDist   = []weighted{{"Normal", 900}, {"High", 70}, {"Low", 30}}
)
