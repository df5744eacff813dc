// Package password hashes the passwords of directory users (bcrypt) and
// checks them: the token service checks a sign-in's password, the CLI and
// the admin API hash a new one. It is apart from both so that neither
// imports the other for it.
package password

import "golang.org/x/crypto/bcrypt"

// Hash returns the bcrypt hash under which a directory user's
// password is kept.
func Hash(password string) ([]byte, error) {
	return bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
}

// Check reports whether password matches a Hash hash.
func Check(hash []byte, password string) bool {
	return len(hash) > 0 && bcrypt.CompareHashAndPassword(hash, []byte(password)) == nil
}
