package console

// contentRoutes adds the pages of the content library and review queue.
func (c *Console) contentRoutes() {}
