//go:build !unix

package sqlite

type shmWatch struct{}

func openShm(string) *shmWatch { return nil }

func (*shmWatch) version() (uint64, bool) { return 0, false }

func (*shmWatch) acquire() bool { return false }

func (*shmWatch) release() {}
