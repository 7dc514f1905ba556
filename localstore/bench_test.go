package localstore

func childRSS(path string) error { return nil }
func cleanupBenchFixtures() {}
