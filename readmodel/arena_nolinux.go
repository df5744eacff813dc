//go:build unix && !linux

package readmodel

const mapPopulate = 0
