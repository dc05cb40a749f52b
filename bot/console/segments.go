package console

// audienceRoutes adds the pages of the segment builder with live counts.
func (c *Console) audienceRoutes() {}
