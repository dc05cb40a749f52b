package console

// eventRoutes adds the pages of the competitions and events.
func (c *Console) eventRoutes() {}
