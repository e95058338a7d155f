package clean

// IsBlank reports whether a source value says "nothing here": empty, white
// space, dashes or a placeholder such as N/A or 无, after normalisation.
// Mapping uses it for text fields, which have no parser of their own.
func IsBlank(s string) bool { return isBlank(Normalize(s)) }

// IsBlankNormalized is IsBlank for a value already put through Normalize,
// saving the second normalisation on hot paths.
func IsBlankNormalized(n string) bool { return isBlank(n) }
