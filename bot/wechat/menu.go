package wechat

import (
	"context"
	"fmt"

	"github.com/silenceper/wechat/v2/officialaccount/menu"
)

// Menu limits.
const (
	maxTopButtons = 3
	maxSubButtons = 5
)

// MenuButton is a menu button: a leaf with Type ("click" with Key, "view"
// with URL, ...) or a parent with 1–5 Sub buttons.
type MenuButton struct {
	Type string
	Name string
	Key  string
	URL  string
	Sub  []MenuButton
}

// PublishMenu replaces the account's menu with 1–3 top buttons. Clients
// pick the change up within about 5 minutes.
func (c *Client) PublishMenu(ctx context.Context, buttons []MenuButton) error {
	if err := validateMenu(buttons); err != nil {
		return fmt.Errorf("wechat publish menu: %w", err)
	}
	bs := make([]*menu.Button, 0, len(buttons))
	for _, b := range buttons {
		mb := toSDKButton(b)
		for _, s := range b.Sub {
			mb.SubButtons = append(mb.SubButtons, toSDKButton(s))
		}
		bs = append(bs, mb)
	}
	return c.do(ctx, "menu_create", func(string) error { return c.menu.SetMenu(bs) })
}

func toSDKButton(b MenuButton) *menu.Button {
	if len(b.Sub) > 0 {
		return &menu.Button{Name: b.Name}
	}
	return &menu.Button{Type: b.Type, Name: b.Name, Key: b.Key, URL: b.URL}
}

func validateMenu(buttons []MenuButton) error {
	if n := len(buttons); n < 1 || n > maxTopButtons {
		return fmt.Errorf("%d top buttons, want 1-%d", n, maxTopButtons)
	}
	for i, b := range buttons {
		if b.Name == "" {
			return fmt.Errorf("button %d has no name", i)
		}
		if len(b.Sub) == 0 {
			if err := validateLeaf(b); err != nil {
				return fmt.Errorf("button %d: %w", i, err)
			}
			continue
		}
		if len(b.Sub) > maxSubButtons {
			return fmt.Errorf("button %d has %d sub-buttons, want 1-%d", i, len(b.Sub), maxSubButtons)
		}
		for j, s := range b.Sub {
			if len(s.Sub) > 0 {
				return fmt.Errorf("button %d.%d: menus have two levels", i, j)
			}
			if s.Name == "" {
				return fmt.Errorf("button %d.%d has no name", i, j)
			}
			if err := validateLeaf(s); err != nil {
				return fmt.Errorf("button %d.%d: %w", i, j, err)
			}
		}
	}
	return nil
}

func validateLeaf(b MenuButton) error {
	switch b.Type {
	case "view":
		if b.URL == "" {
			return fmt.Errorf("view button %q needs a URL", b.Name)
		}
	case "":
		return fmt.Errorf("button %q needs a type or sub-buttons", b.Name)
	default:
		if b.Key == "" {
			return fmt.Errorf("%s button %q needs a key", b.Type, b.Name)
		}
	}
	return nil
}
