package main

// The help of each subcommand (commandHelp in flags.go): its usage line,
// what it does in a line or two, its flags by section.

// demoHelp is `bulwark demo -h`.
var demoHelp = commandHelp{
	usage: "bulwark demo [flags]",
	about: "Run the demo site: every package of the suite in one application, on SQLite\n" +
		"(or PostgreSQL: -db postgres://…), with its accounts printed at start.",
	sections: []flagSection{
		{"Server", []string{"addr", "provider-addr"}},
		{"Storage", []string{"db"}},
		{"Sessions", []string{"idle"}},
	},
}

// collectHelp is `bulwark collect -h`.
var collectHelp = commandHelp{
	usage: "bulwark collect [flags]",
	about: "Run the CSP report collector: browsers post violation reports to /csp-report,\n" +
		"which stores them in -db; GET /health answers while it can store them. With\n" +
		"-metrics-addr, Prometheus metrics at /metrics on a listener of their own.",
	sections: []flagSection{
		{"Server", []string{"addr", "allow-origin", "trusted-proxies"}},
		{"Monitoring", []string{"metrics-addr"}},
		{"Storage", []string{"db", "retain", "keep-other", "raw-events"}},
		{"Limits", []string{"rate-limit", "burst"}},
	},
	developer: []string{"cpuprofile"},
}

// reportsHelp is `bulwark reports -h`.
var reportsHelp = commandHelp{
	usage: "bulwark reports [flags]\n       bulwark reports -group KEY | -mute KEY | -unmute KEY [-db …]",
	about: "Print the CSP report groups the collector stored, most reports first; or one\n" +
		"group's details and examples; or mute or unmute a group. KEY is the GROUP column.",
	sections: []flagSection{
		{"Database", []string{"db"}},
		{"Which groups", []string{"since", "limit", "muted"}},
		{"Output", []string{"format"}},
		{"One group", []string{"group", "mute", "unmute"}},
	},
}

// suggestHelp is `bulwark suggest -h`.
var suggestHelp = commandHelp{
	usage: "bulwark suggest [flags]",
	about: "Suggest a Content-Security-Policy from the collected reports (the policy\n" +
		"assistant): the sources real clients need, those held back as injection or\n" +
		"noise, the merged policy, and whether a report-only policy is ready to enforce.",
	sections: []flagSection{
		{"Database", []string{"db"}},
		{"Which reports", []string{"since", "origin"}},
		{"Judgement", []string{"min-clients", "window"}},
		{"Output", []string{"format"}},
	},
}
