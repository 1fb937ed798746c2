#pragma once
// Rows and Row: a query's result, the same type for PostgreSQL and SQLite.
//   for (db::Row r : rows) { int id = r.get<int>("id"); auto name =
//   r.get<std::optional<std::string>>(1); }
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "brigade/db/value.hpp"

namespace brigade::db {

class Rows;

// A view of one row; valid while its Rows lives.
class Row {
 public:
  Row(const Rows& rows, std::size_t index) noexcept : rows_(&rows), index_(index) {}

  std::size_t size() const noexcept;
  const Value& operator[](std::size_t column) const;
  const Value& operator[](std::string_view column) const;
  bool is_null(std::size_t column) const { return (*this)[column].is_null(); }
  bool is_null(std::string_view column) const { return (*this)[column].is_null(); }

  template <typename T>
  T get(std::size_t column) const {
    return (*this)[column].template as<T>();
  }
  template <typename T>
  T get(std::string_view column) const {
    return (*this)[column].template as<T>();
  }

 private:
  const Rows* rows_;
  std::size_t index_;
};

class Rows {
 public:
  Rows() = default;
  explicit Rows(std::vector<std::string> columns) : columns_(std::move(columns)) {}

  std::size_t size() const noexcept {
    return columns_.empty() ? 0 : cells_.size() / columns_.size();
  }
  bool empty() const noexcept { return size() == 0; }
  Row operator[](std::size_t i) const;
  Row front() const { return (*this)[0]; }  // throws DbError(kUsage) when there is no row

  const std::vector<std::string>& columns() const noexcept { return columns_; }
  std::size_t column_index(std::string_view name) const;  // throws if there is no such column

  // Rows changed by INSERT/UPDATE/DELETE (PostgreSQL's command tag, sqlite3_changes).
  std::int64_t affected() const noexcept { return affected_; }
  // SQLite's last rowid after an INSERT (PostgreSQL: 0, use RETURNING).
  std::int64_t last_insert_id() const noexcept { return last_insert_id_; }

  class Iterator {
   public:
    Iterator(const Rows& rows, std::size_t i) noexcept : rows_(&rows), i_(i) {}
    Row operator*() const noexcept { return Row(*rows_, i_); }
    Iterator& operator++() noexcept {
      ++i_;
      return *this;
    }
    bool operator==(const Iterator& o) const noexcept { return i_ == o.i_; }

   private:
    const Rows* rows_;
    std::size_t i_;
  };
  Iterator begin() const noexcept { return Iterator(*this, 0); }
  Iterator end() const noexcept { return Iterator(*this, size()); }

  // Building (the drivers' side): cells row after row.
  void reserve(std::size_t rows) { cells_.reserve(rows * columns_.size()); }
  void push(Value v) { cells_.push_back(std::move(v)); }
  void set_affected(std::int64_t n) noexcept { affected_ = n; }
  void set_last_insert_id(std::int64_t id) noexcept { last_insert_id_ = id; }
  const Value& cell(std::size_t row, std::size_t column) const {
    return cells_[row * columns_.size() + column];
  }

 private:
  std::vector<std::string> columns_;
  std::vector<Value> cells_;
  std::int64_t affected_ = 0;
  std::int64_t last_insert_id_ = 0;
};

}  // namespace brigade::db
