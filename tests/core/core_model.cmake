# h2-model: the environment as data, reading records back and merging them,
# the registry's scopes and dependencies.
add_executable(record_roundtrip ${CMAKE_CURRENT_LIST_DIR}/record_roundtrip.c)
target_link_libraries(record_roundtrip PRIVATE pfcore)
