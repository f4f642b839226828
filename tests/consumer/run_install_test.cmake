# Installs lat from BUILD_DIR into a fresh prefix, builds tests/consumer against it with
# find_package(lat), and runs it on the committed tiny model.
file(REMOVE_RECURSE "${WORK_DIR}")
function(step)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed: ${ARGN}\n${out}\n${err}")
  endif()
  set(last_output "${out}" PARENT_SCOPE)
endfunction()
step(${CMAKE_COMMAND} --install "${BUILD_DIR}" --prefix "${WORK_DIR}/prefix")
step(${CMAKE_COMMAND} -S "${SOURCE_DIR}/tests/consumer" -B "${WORK_DIR}/build"
     "-DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix")
step(${CMAKE_COMMAND} --build "${WORK_DIR}/build")
step("${WORK_DIR}/build/consumer" "${SOURCE_DIR}/tests/golden/tiny-bert")
if(NOT last_output MATCHES "^(red|green|blue) 9\n(red|green|blue) 4\n$")
  message(FATAL_ERROR "unexpected consumer output:\n${last_output}")
endif()
message(STATUS "consumer output:\n${last_output}")
