package console

// opsRoutes adds the pages of the scheduled jobs, dead letters, demand log and CSV exports.
func (c *Console) opsRoutes() {}
