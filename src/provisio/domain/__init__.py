"""The pure domain: recipes, identifiers, brand rules and event models. No I/O lives here."""
