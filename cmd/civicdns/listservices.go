package main

import (
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/civicdns/civicdns/live"
	"github.com/civicdns/civicdns/policy"
)

// cmdListsServices is `civicdns lists services`: the catalogue of named
// services (each messenger with all its domains), and which the policy
// approves, citywide or for one department.
func cmdListsServices(args []string, stdout, stderr io.Writer) int {
	fl := flag.NewFlagSet("lists services", flag.ContinueOnError)
	fl.SetOutput(stderr)
	cfgPath := configFlag(fl)
	category := fl.String("category", "", "only this category's services (the catalogue is chat's)")
	deptName := fl.String("department", "", "say what this department approves (default: citywide)")
	if err := parseWithConfig(fl, cfgPath, args); err != nil {
		return usageError(fl, err)
	}
	_, pol, err := live.Load(*cfgPath)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	var dept *policy.Department
	if *deptName != "" {
		if dept = pol.DepartmentNamed(*deptName); dept == nil {
			fmt.Fprintf(stderr, "civicdns lists services: no department %q\n", *deptName)
			return 1
		}
	}
	shown := 0
	for _, s := range pol.Lists().Services {
		if *category != "" && s.Category != *category {
			continue
		}
		state := "blocked (" + s.Category + ")"
		if pol.ServiceApproved(dept, s.ID) {
			state = "APPROVED"
		}
		fmt.Fprintf(stdout, "%-20s %-30s %-18s %s\n", s.ID, s.Name, s.Kind, state)
		fmt.Fprintf(stdout, "%20s %s\n", "", strings.Join(s.Domains, " "))
		shown++
	}
	if shown == 0 {
		fmt.Fprintln(stdout, "no services in the lists' catalogues")
		return 0
	}
	who := "citywide"
	if dept != nil {
		who = "for " + dept.Name
	}
	fmt.Fprintf(stdout, "\n%d services; approved %s: %s (approved_chat; each domain covers its subdomains)\n", shown, who, approvedText(pol, dept))
	return 0
}

// approvedText lists the approved services, or says none are.
func approvedText(pol *policy.Policy, d *policy.Department) string {
	ids := pol.ApprovedChat
	if d != nil {
		ids = d.ApprovedChat
	}
	if len(ids) == 0 {
		return "none"
	}
	return strings.Join(ids, ", ")
}
