// Package scanpattern tests docs/gitleaks.toml, the detection pattern the
// portal publishes for secret scanners, by running gitleaks (as a library,
// from the tests only: no function links it) over text holding generated
// secrets and near misses.
package scanpattern
