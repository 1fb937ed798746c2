#pragma once
#include "brigade/fs/file.hpp"
#include "brigade/fs/fs.hpp"
#include "brigade/fs/stats.hpp"
