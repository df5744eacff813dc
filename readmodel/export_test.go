package readmodel

// NewChecked is newModel for the external tests: a model closed at the end
// of the test, which then fails if a view is still held.
var NewChecked = newModel
