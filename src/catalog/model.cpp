#include "syncset/catalog/model.hpp"

namespace syncset::catalog {

const Column* Table::column(std::string_view column_name) const noexcept {
    for (const auto& c : columns) {
        if (c.name == column_name) {
            return &c;
        }
    }
    return nullptr;
}

const Column* Table::column_by_attnum(int attnum) const noexcept {
    for (const auto& c : columns) {
        if (c.attnum == attnum) {
            return &c;
        }
    }
    return nullptr;
}

const Table* Catalog::find_table(std::string_view schema, std::string_view name) const noexcept {
    for (const auto& t : tables) {
        if (t.schema == schema && t.name == name) {
            return &t;
        }
    }
    return nullptr;
}

const Table* Catalog::find_table(std::uint32_t oid) const noexcept {
    for (const auto& t : tables) {
        if (t.oid == oid) {
            return &t;
        }
    }
    return nullptr;
}

const UserType* Catalog::find_type(std::string_view schema, std::string_view name) const noexcept {
    for (const auto& t : types) {
        if (t.schema == schema && t.name == name) {
            return &t;
        }
    }
    return nullptr;
}

const Sequence* Catalog::find_sequence(std::string_view schema,
                                       std::string_view name) const noexcept {
    for (const auto& s : sequences) {
        if (s.schema == schema && s.name == name) {
            return &s;
        }
    }
    return nullptr;
}

const UserType* Catalog::find_type(std::uint32_t oid) const noexcept {
    for (const auto& t : types) {
        if (t.oid == oid) {
            return &t;
        }
    }
    return nullptr;
}

bool glob_match(std::string_view pattern, std::string_view name) noexcept {
    // Iterative matcher with single-star backtracking: linear in practice, no recursion.
    std::size_t p = 0;
    std::size_t n = 0;
    std::size_t star = std::string_view::npos;
    std::size_t resume = 0;
    while (n < name.size()) {
        if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == name[n])) {
            ++p;
            ++n;
        } else if (p < pattern.size() && pattern[p] == '*') {
            star = p++;
            resume = n;
        } else if (star != std::string_view::npos) {
            p = star + 1;
            n = ++resume;
        } else {
            return false;
        }
    }
    while (p < pattern.size() && pattern[p] == '*') {
        ++p;
    }
    return p == pattern.size();
}

}  // namespace syncset::catalog
