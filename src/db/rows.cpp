// Rows and Row lookups.
#include "brigade/db/rows.hpp"

namespace brigade::db {

std::size_t Row::size() const noexcept { return rows_->columns().size(); }

const Value& Row::operator[](std::size_t column) const {
  if (column >= size())
    throw_usage("column " + std::to_string(column) + " out of range (" + std::to_string(size()) +
                " columns)");
  return rows_->cell(index_, column);
}

const Value& Row::operator[](std::string_view column) const {
  return rows_->cell(index_, rows_->column_index(column));
}

Row Rows::operator[](std::size_t i) const {
  if (i >= size())
    throw_usage("row " + std::to_string(i) + " out of range (" + std::to_string(size()) + " rows)");
  return Row(*this, i);
}

std::size_t Rows::column_index(std::string_view name) const {
  for (std::size_t i = 0; i < columns_.size(); ++i)
    if (columns_[i] == name) return i;
  throw_usage("no column named '" + std::string(name) + "'");
}

}  // namespace brigade::db
