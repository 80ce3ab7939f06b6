package sqlstore

// New is newStore, for the tests, which share each test's database.
var New = newStore
