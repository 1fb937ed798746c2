# brigade's layers as build targets: the layer order is enforced by the compiler, not by review.
#
# brigade_layer(<name> [DEPS <layer>...] [LIBS <target>...]) makes the OBJECT library brigade_<name> from every .cpp
# under src/<name>/ (globbed: a new file lands in its folder's layer). Its sources see an include
# tree of their own, ${CMAKE_BINARY_DIR}/layers/<name>/, holding symlinks to include/brigade/<name>/
# and include/brigade/<name>.hpp only; linking DEPS adds the trees of the layers below (PUBLIC,
# so transitively). A header of any other layer is not on the include path: including it fails
# to compile with "No such file or directory". The `layering` test proves it for every pair.
# LIBS are outside libraries the layer uses (OpenSSL::SSL...): linked by the layer and by the
# archive users link (brigade::brigade, or brigade::db for the db layer).
#
# Adding a layer: create src/<name>/ and include/brigade/<name>/, then add one line
# `brigade_layer(<name> DEPS <the layers it uses> [LIBS ...])` in CMakeLists.txt, after those layers. A folder
# under src/ or include/brigade/ that no brigade_layer() claims stops the configure step.

set(BRIGADE_LAYER_ROOT ${CMAKE_BINARY_DIR}/layers)
set_property(GLOBAL PROPERTY BRIGADE_LAYERS "")

# Top-level headers that are not a layer's umbrella (include/brigade/<layer>.hpp), by owner.
set(BRIGADE_LAYER_EXTRA_HEADERS_loop error.hpp)

function(brigade_layer name)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "" "DEPS;LIBS")
  get_property(known GLOBAL PROPERTY BRIGADE_LAYERS)
  foreach(dep ${arg_DEPS})
    if(NOT dep IN_LIST known)
      message(FATAL_ERROR "layer '${name}' depends on '${dep}', which is not declared before it")
    endif()
  endforeach()

  # The layer's include tree: links, so an edited or added header needs no re-configure.
  set(inc ${PROJECT_SOURCE_DIR}/include/brigade)
  set(tree ${BRIGADE_LAYER_ROOT}/${name}/brigade)
  file(REMOVE_RECURSE ${BRIGADE_LAYER_ROOT}/${name})
  file(MAKE_DIRECTORY ${tree})
  if(IS_DIRECTORY ${inc}/${name})
    file(CREATE_LINK ${inc}/${name} ${tree}/${name} SYMBOLIC)
  endif()
  foreach(header ${name}.hpp ${BRIGADE_LAYER_EXTRA_HEADERS_${name}})
    if(EXISTS ${inc}/${header})
      file(CREATE_LINK ${inc}/${header} ${tree}/${header} SYMBOLIC)
    endif()
  endforeach()

  file(GLOB_RECURSE sources CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/src/${name}/*.cpp)
  set(target brigade_${name})
  if(sources)
    add_library(${target} OBJECT ${sources})
    target_compile_options(${target} PRIVATE ${BRIGADE_WARNINGS})
    brigade_unity(${target})
    target_link_libraries(${target} PUBLIC Threads::Threads nlohmann_json::nlohmann_json)
    target_compile_features(${target} PUBLIC cxx_std_20)
    set(scope PUBLIC)
  else()  # headers only
    add_library(${target} INTERFACE)
    set(scope INTERFACE)
  endif()
  target_include_directories(${target} ${scope} $<BUILD_INTERFACE:${BRIGADE_LAYER_ROOT}/${name}>)
  foreach(dep ${arg_DEPS})
    target_link_libraries(${target} ${scope} brigade_${dep})
  endforeach()
  if(arg_LIBS)
    target_link_libraries(${target} ${scope} ${arg_LIBS})
  endif()
  set_property(GLOBAL APPEND PROPERTY BRIGADE_LAYERS ${name})
  set_property(GLOBAL PROPERTY BRIGADE_LAYER_LIBS_${name} ${arg_LIBS})
  set_property(GLOBAL PROPERTY BRIGADE_LAYER_SOURCES_${name} ${sources})

  # What the layer's sources see, for the layering test (generated: the transitive closure).
  file(GENERATE OUTPUT ${BRIGADE_LAYER_ROOT}/${name}.includes
    CONTENT "$<JOIN:$<TARGET_PROPERTY:${target},INTERFACE_INCLUDE_DIRECTORIES>,\n>\n")
endfunction()

# Every folder and top-level header under src/ and include/brigade/ must belong to a layer.
function(brigade_layers_check)
  get_property(layers GLOBAL PROPERTY BRIGADE_LAYERS)
  set(owned ${layers})
  foreach(layer ${layers})
    foreach(extra ${BRIGADE_LAYER_EXTRA_HEADERS_${layer}})
      get_filename_component(stem ${extra} NAME_WE)
      list(APPEND owned ${stem})
    endforeach()
  endforeach()
  file(GLOB entries LIST_DIRECTORIES true CONFIGURE_DEPENDS
    ${PROJECT_SOURCE_DIR}/src/* ${PROJECT_SOURCE_DIR}/include/brigade/*)
  foreach(entry ${entries})
    get_filename_component(stem ${entry} NAME_WE)
    if(NOT stem IN_LIST owned)
      file(RELATIVE_PATH rel ${PROJECT_SOURCE_DIR} ${entry})
      message(FATAL_ERROR "${rel} belongs to no layer: add brigade_layer(${stem} DEPS ... [LIBS ...]) to "
                          "CMakeLists.txt (see cmake/layers.cmake)")
    endif()
  endforeach()
endfunction()
